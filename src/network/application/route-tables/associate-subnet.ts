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
import { NetworkQueries } from '../network-queries';
import { NetworkOperations } from '../network-operations';
import type { RouteTableChanged } from './create-route-table';

/**
 * POST /route-tables/:id/associate `{subnet_id}`: the subnet's router port is routed by this
 * table (realized), then SubnetAssociated. The subnet must be in the table's VPC (400); a subnet
 * associated with another table is 409 naming it (disassociate it first).
 */
export class AssociateSubnet extends UseCaseCommand<RouteTableChanged> {
  constructor(
    readonly routeTableId: string,
    readonly subnetId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AssociateSubnet)
export class AssociateSubnetHandler extends UseCaseHandler<AssociateSubnet, RouteTableChanged> {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly queries: NetworkQueries,
  ) {
    super();
  }

  protected async handle({
    routeTableId,
    subnetId,
    ctx,
  }: AssociateSubnet): Promise<Handled<RouteTableChanged>> {
    const tenantId = tenantOf(ctx);
    const table = await this.ops.visibleRouteTable(tenantId, routeTableId);
    const vpcId = table.vpcId as string;
    return this.ops.locks.vpc.run(vpcId, async () => {
      const subnet = await this.ops.visibleSubnet(tenantId, subnetId);
      if (subnet.vpcId !== vpcId) {
        throw AppError.validation(`subnet ${subnetId} is not in VPC ${vpcId}`, [
          { path: 'subnet_id', message: `must be a subnet of VPC ${vpcId}` },
        ]);
      }
      const current = await this.queries.routeTableAssociatedWith(subnetId);
      if (current !== null && current !== routeTableId) {
        throw new AppError(
          'conflict',
          `subnet ${subnetId} is associated with route table ${current}; disassociate it first`,
          { resource: 'route_table', id: current, field: 'subnet_id' },
        );
      }
      const command = { type: 'AssociateSubnet' as const, subnetId, now: ctx.now };
      routeTableDecider.decide(command, table);
      const fabric = this.ops.fabric;
      const main = (await this.ops.visibleVpc(tenantId, vpcId)).mainRouteTableId;
      await this.ops.applyToFabric('associate the subnet', () =>
        fabric.setSubnetRouteTable(subnetId, routeTableId),
      );
      let position;
      try {
        position = (await this.ops.executor.execute(routeTableDecider, routeTableId, command, ctx))
          .position;
      } catch (error) {
        await this.ops.undoOnFabric(`association of ${subnetId}`, () =>
          fabric.setSubnetRouteTable(subnetId, main),
        );
        throw error;
      }
      await this.ops.readable(position, [ROUTE_TABLES_PROJECTION]);
      return { result: { routeTableId }, written: [written(position, ROUTE_TABLES_PROJECTION)] };
    });
  }
}
