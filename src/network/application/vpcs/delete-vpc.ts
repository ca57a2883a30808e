import { CommandHandler } from '@nestjs/cqrs';
import {
  ROUTE_TABLES_PROJECTION,
  SECURITY_GROUPS_PROJECTION,
  VPCS_PROJECTION,
} from '../../../../projections/network';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  tenantOf,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { NetworkOperations } from '../network-operations';
import type { VpcChanged } from './create-vpc';
import { VpcDependentsReader } from './vpc-dependents';
import { VpcProvisioning } from './vpc-provisioning';

/**
 * DELETE /vpcs/:id: 409 dependency_violation naming what still lives in it; else the router and
 * the default group leave the fabric, then VpcDeleted (the main table and default group with it).
 */
export class DeleteVpc extends UseCaseCommand<VpcChanged> {
  constructor(
    readonly vpcId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteVpc)
export class DeleteVpcHandler extends UseCaseHandler<DeleteVpc, VpcChanged> {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly dependents: VpcDependentsReader,
    private readonly vpcs: VpcProvisioning,
  ) {
    super();
  }

  protected handle({ vpcId, ctx }: DeleteVpc): Promise<Handled<VpcChanged>> {
    const tenantId = tenantOf(ctx);
    return this.ops.locks.vpc.run(vpcId, async () => {
      const vpc = await this.ops.visibleVpc(tenantId, vpcId);
      const position = await this.vpcs.delete(vpc, await this.dependents.of(vpc), ctx);
      const projections = [VPCS_PROJECTION, ROUTE_TABLES_PROJECTION, SECURITY_GROUPS_PROJECTION];
      await this.ops.readable(position, projections);
      return { result: { vpcId }, written: [written(position, ...projections)] };
    });
  }
}
