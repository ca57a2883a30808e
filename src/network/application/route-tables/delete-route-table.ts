import { CommandHandler } from '@nestjs/cqrs';
import { ROUTE_TABLES_PROJECTION } from '../../../../projections/network';
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

/**
 * DELETE /route-tables/:id: the main table is deleted only with its VPC (409 invalid_state); a
 * table with subnets is 409 dependency_violation naming them. Its routes leave the fabric first.
 */
export class DeleteRouteTable extends UseCaseCommand<RouteTableChanged> {
  constructor(
    readonly routeTableId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteRouteTable)
export class DeleteRouteTableHandler extends UseCaseHandler<DeleteRouteTable, RouteTableChanged> {
  constructor(private readonly ops: NetworkOperations) {
    super();
  }

  protected async handle({
    routeTableId,
    ctx,
  }: DeleteRouteTable): Promise<Handled<RouteTableChanged>> {
    const tenantId = tenantOf(ctx);
    const table = await this.ops.visibleRouteTable(tenantId, routeTableId);
    const command = { type: 'DeleteRouteTable' as const, withVpc: false, now: ctx.now };
    routeTableDecider.decide(command, table);
    const vpcId = table.vpcId as string;
    const fabric = this.ops.fabric;
    await this.ops.applyToFabric('delete the route table', async () => {
      for (const route of table.routes) {
        if (route.targetType !== 'local') await fabric.removeStaticRoute(vpcId, route.routeId);
      }
    });
    const { position } = await this.ops.executor.execute(
      routeTableDecider,
      routeTableId,
      command,
      ctx,
    );
    return { result: { routeTableId }, written: [written(position, ROUTE_TABLES_PROJECTION)] };
  }
}
