import { CommandHandler } from '@nestjs/cqrs';
import { ROUTE_TABLES_PROJECTION, SUBNETS_PROJECTION } from '../../../../projections/network';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  tenantOf,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { NetworkOperations } from '../network-operations';
import type { SubnetChanged } from './create-subnet';
import { SubnetProvisioning } from './subnet-provisioning';

/** DELETE /subnets/:id: 409 dependency_violation while instances hold addresses in it. */
export class DeleteSubnet extends UseCaseCommand<SubnetChanged> {
  constructor(
    readonly subnetId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteSubnet)
export class DeleteSubnetHandler extends UseCaseHandler<DeleteSubnet, SubnetChanged> {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly subnets: SubnetProvisioning,
  ) {
    super();
  }

  protected async handle({ subnetId, ctx }: DeleteSubnet): Promise<Handled<SubnetChanged>> {
    const tenantId = tenantOf(ctx);
    const { vpcId } = await this.ops.visibleSubnet(tenantId, subnetId);
    return this.ops.locks.vpc.run(vpcId as string, async () => {
      const subnet = await this.ops.visibleSubnet(tenantId, subnetId);
      const position = await this.subnets.delete(subnet, ctx);
      return {
        result: { subnetId },
        written: [written(position, SUBNETS_PROJECTION, ROUTE_TABLES_PROJECTION)],
      };
    });
  }
}
