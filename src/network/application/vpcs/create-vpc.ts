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
import { newVpcIds, VpcProvisioning } from './vpc-provisioning';

export interface CreateVpcRequest {
  name: string;
  cidr_block?: string | null;
}

/** What a VPC use case answers: the VPC it changed (read back from VPCS_PROJECTION). */
export interface VpcChanged {
  vpcId: string;
}

/** POST /vpcs: a router on the fabric, realized, then VpcCreated with its main table and default group. */
export class CreateVpc extends UseCaseCommand<VpcChanged> {
  constructor(
    readonly request: CreateVpcRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateVpc)
export class CreateVpcHandler extends UseCaseHandler<CreateVpc, VpcChanged> {
  constructor(private readonly vpcs: VpcProvisioning) {
    super();
  }

  protected async handle({ request, ctx }: CreateVpc): Promise<Handled<VpcChanged>> {
    const tenantId = tenantOf(ctx);
    // Ids derive from the command id: a request retried with its Idempotency-Key creates nothing new.
    const ids = newVpcIds(ctx.commandId);
    const position = await this.vpcs.create(
      { ...ids, tenantId, name: request.name, cidrBlock: request.cidr_block ?? null },
      ctx,
    );
    return {
      result: { vpcId: ids.vpcId },
      written: [
        written(position, VPCS_PROJECTION, ROUTE_TABLES_PROJECTION, SECURITY_GROUPS_PROJECTION),
      ],
    };
  }
}
