import { CommandHandler } from '@nestjs/cqrs';
import { SUBNETS_PROJECTION } from '../../../../projections/network';
import { uuidV5 } from '../../../common/ids';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  tenantOf,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { NetworkOperations } from '../network-operations';
import { SubnetProvisioning } from './subnet-provisioning';

export interface CreateSubnetRequest {
  name: string;
  cidr_block: string;
  availability_zone: string;
}

/** What a subnet use case answers: the subnet it changed (read back from SUBNETS_PROJECTION). */
export interface SubnetChanged {
  subnetId: string;
}

/** POST /vpcs/:vpcId/subnets: switch, router port and DHCP on the fabric, realized, then SubnetCreated. */
export class CreateSubnet extends UseCaseCommand<SubnetChanged> {
  constructor(
    readonly vpcId: string,
    readonly request: CreateSubnetRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateSubnet)
export class CreateSubnetHandler extends UseCaseHandler<CreateSubnet, SubnetChanged> {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly subnets: SubnetProvisioning,
  ) {
    super();
  }

  protected handle({ vpcId, request, ctx }: CreateSubnet): Promise<Handled<SubnetChanged>> {
    const tenantId = tenantOf(ctx);
    const subnetId = uuidV5(`subnet/${ctx.commandId}`);
    return this.ops.locks.vpc.run(vpcId, async () => {
      const vpc = await this.ops.visibleVpc(tenantId, vpcId);
      const { position } = await this.subnets.create(
        vpc,
        {
          subnetId,
          name: request.name,
          cidrBlock: request.cidr_block,
          availabilityZone: request.availability_zone,
        },
        ctx,
      );
      return { result: { subnetId }, written: [written(position, SUBNETS_PROJECTION)] };
    });
  }
}
