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
 * POST /route-tables/:id/disassociate `{subnet_id}`: the subnet goes back to its VPC's main table
 * (realized), then SubnetDisassociated. Idempotent.
 */
export class DisassociateSubnet extends UseCaseCommand<RouteTableChanged> {
  constructor(
    readonly routeTableId: string,
    readonly subnetId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DisassociateSubnet)
export class DisassociateSubnetHandler extends UseCaseHandler<
  DisassociateSubnet,
  RouteTableChanged
> {
  constructor(private readonly ops: NetworkOperations) {
    super();
  }

  protected async handle({
    routeTableId,
    subnetId,
    ctx,
  }: DisassociateSubnet): Promise<Handled<RouteTableChanged>> {
    const tenantId = tenantOf(ctx);
    const table = await this.ops.visibleRouteTable(tenantId, routeTableId);
    const vpcId = table.vpcId as string;
    return this.ops.locks.vpc.run(vpcId, async () => {
      await this.ops.visibleSubnet(tenantId, subnetId);
      const command = { type: 'DisassociateSubnet' as const, subnetId, now: ctx.now };
      const changes = routeTableDecider.decide(command, table);
      const fabric = this.ops.fabric;
      if (changes.length > 0) {
        const main = (await this.ops.visibleVpc(tenantId, vpcId)).mainRouteTableId;
        await this.ops.applyToFabric('disassociate the subnet', () =>
          fabric.setSubnetRouteTable(subnetId, main),
        );
      }
      let position;
      try {
        position = (await this.ops.executor.execute(routeTableDecider, routeTableId, command, ctx))
          .position;
      } catch (error) {
        await this.ops.undoOnFabric(`association of ${subnetId}`, () =>
          fabric.setSubnetRouteTable(subnetId, routeTableId),
        );
        throw error;
      }
      await this.ops.readable(position, [ROUTE_TABLES_PROJECTION]);
      return { result: { routeTableId }, written: [written(position, ROUTE_TABLES_PROJECTION)] };
    });
  }
}
