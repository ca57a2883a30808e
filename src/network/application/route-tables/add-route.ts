import { CommandHandler } from '@nestjs/cqrs';
import { ROUTE_TABLES_PROJECTION } from '../../../../projections/network';
import { uuidV5 } from '../../../common/ids';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  tenantOf,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import {
  routeTableDecider,
  staticRouteSpecOf,
  type AddRoute as AddRouteDecision,
} from '../../domain';
import { NetworkOperations } from '../network-operations';
import type { RouteTableChanged } from './create-route-table';
import { RouteTargets } from './route-targets';

export interface AddRouteRequest {
  destination_cidr: string;
  target_type: string;
  target_id: string;
}

/**
 * POST /route-tables/:id/routes: the target must be a live one of the table's VPC (404); a
 * second route for a destination is 409. A static route in the table's OVN route table,
 * realized, then RouteAdded.
 */
export class AddRoute extends UseCaseCommand<RouteTableChanged> {
  constructor(
    readonly routeTableId: string,
    readonly request: AddRouteRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AddRoute)
export class AddRouteHandler extends UseCaseHandler<AddRoute, RouteTableChanged> {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly targets: RouteTargets,
  ) {
    super();
  }

  protected async handle({
    routeTableId,
    request,
    ctx,
  }: AddRoute): Promise<Handled<RouteTableChanged>> {
    const tenantId = tenantOf(ctx);
    const routeId = uuidV5(`route/${ctx.commandId}`);
    const table = await this.ops.visibleRouteTable(tenantId, routeTableId);
    const vpcId = table.vpcId as string;
    const command: AddRouteDecision = {
      type: 'AddRoute',
      routeId,
      destinationCidr: request.destination_cidr,
      targetType: request.target_type,
      targetId: request.target_id,
      now: ctx.now,
    };
    const decided = routeTableDecider.decide(command, table);
    const added = decided.find((e) => e.type === 'RouteAdded');
    const fabric = this.ops.fabric;
    if (added?.type === 'RouteAdded') {
      const route = added.data.route;
      await this.targets.check(vpcId, route.targetType, route.targetId as string);
      const target = await this.targets.fabricTarget(vpcId, route);
      await this.ops.applyToFabric('add the route', () =>
        fabric.ensureStaticRoute(staticRouteSpecOf(vpcId, routeTableId, route, target)),
      );
    }
    let position;
    try {
      position = (await this.ops.executor.execute(routeTableDecider, routeTableId, command, ctx))
        .position;
    } catch (error) {
      await this.ops.undoOnFabric(`route ${routeId}`, () =>
        fabric.removeStaticRoute(vpcId, routeId),
      );
      throw error;
    }
    return {
      result: { routeTableId, routeId },
      written: [written(position, ROUTE_TABLES_PROJECTION)],
    };
  }
}
