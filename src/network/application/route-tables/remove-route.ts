import { CommandHandler } from '@nestjs/cqrs';
import { ROUTE_TABLES_PROJECTION } from '../../../../projections/network';
import { AppError } from '../../../common/errors/app-error';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  tenantOf,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { routeTableDecider } from '../../domain';
import { NetworkOperations } from '../network-operations';
import type { RouteTableChanged } from './create-route-table';

/** DELETE /route-tables/:id/routes?route_id=: 404 for an unknown route, 409 for the local one. */
export class RemoveRoute extends UseCaseCommand<RouteTableChanged> {
  constructor(
    readonly routeTableId: string,
    /** Undefined when the query lacks it: 400, after the 404 of another tenant's table. */
    readonly routeId: string | undefined,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RemoveRoute)
export class RemoveRouteHandler extends UseCaseHandler<RemoveRoute, RouteTableChanged> {
  constructor(private readonly ops: NetworkOperations) {
    super();
  }

  protected async handle({
    routeTableId,
    routeId,
    ctx,
  }: RemoveRoute): Promise<Handled<RouteTableChanged>> {
    const tenantId = tenantOf(ctx);
    const table = await this.ops.visibleRouteTable(tenantId, routeTableId);
    if (!routeId) {
      throw AppError.validation('route_id is required', [
        { path: 'route_id', message: 'route_id is required' },
      ]);
    }
    const command = { type: 'RemoveRoute' as const, routeId, now: ctx.now };
    routeTableDecider.decide(command, table);
    const vpcId = table.vpcId as string;
    const fabric = this.ops.fabric;
    await this.ops.applyToFabric('remove the route', () =>
      fabric.removeStaticRoute(vpcId, routeId),
    );
    const { position } = await this.ops.executor.execute(
      routeTableDecider,
      routeTableId,
      command,
      ctx,
    );
    return { result: { routeTableId }, written: [written(position, ROUTE_TABLES_PROJECTION)] };
  }
}
