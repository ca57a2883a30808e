import { CommandHandler } from '@nestjs/cqrs';
import { SECURITY_GROUPS_PROJECTION } from '../../../../projections/network';
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
  initialSecurityGroupState,
  securityGroupDecider,
  securityGroupSpecOf,
  type CreateSecurityGroup as CreateSecurityGroupDecision,
} from '../../domain';
import { NetworkQueries } from '../network-queries';
import { NetworkOperations } from '../network-operations';

export interface CreateSecurityGroupRequest {
  vpc_id: string;
  name: string;
  description?: string | null;
}

/** What a security group use case answers: the group it changed (SECURITY_GROUPS_PROJECTION). */
export interface SecurityGroupChanged {
  groupId: string;
}

/**
 * POST /security-groups: a port group on the fabric whose ACLs admit all egress and no ingress
 * (realized), then SecurityGroupCreated. Names are unique per VPC (409).
 */
export class CreateSecurityGroup extends UseCaseCommand<SecurityGroupChanged> {
  constructor(
    readonly request: CreateSecurityGroupRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateSecurityGroup)
export class CreateSecurityGroupHandler extends UseCaseHandler<
  CreateSecurityGroup,
  SecurityGroupChanged
> {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly queries: NetworkQueries,
  ) {
    super();
  }

  protected handle({ request, ctx }: CreateSecurityGroup): Promise<Handled<SecurityGroupChanged>> {
    const tenantId = tenantOf(ctx);
    const groupId = uuidV5(`security-group/${ctx.commandId}`);
    return this.ops.locks.vpc.run(request.vpc_id, async () => {
      const vpc = await this.ops.visibleVpc(tenantId, request.vpc_id);
      const vpcId = vpc.vpcId as string;
      const command: CreateSecurityGroupDecision = {
        type: 'CreateSecurityGroup',
        groupId,
        tenantId,
        vpcId,
        name: request.name,
        description: request.description ?? '',
        isDefault: false,
        takenNames: await this.queries.securityGroupNames(vpcId),
        now: ctx.now,
      };
      const existing = await this.ops.executor.load(securityGroupDecider, groupId);
      if (!existing.exists) securityGroupDecider.decide(command, initialSecurityGroupState());
      const fabric = this.ops.fabric;
      await this.ops.applyToFabric('create the security group', () =>
        fabric.ensureSecurityGroup(securityGroupSpecOf({ groupId, vpcId, tenantId })),
      );
      let position;
      try {
        position = await this.ops.appendNew(securityGroupDecider, groupId, command, ctx);
      } catch (error) {
        await this.ops.undoOnFabric(`security group ${groupId}`, () =>
          fabric.removeSecurityGroup(groupId),
        );
        throw error;
      }
      await this.ops.readable(position, [SECURITY_GROUPS_PROJECTION]);
      return { result: { groupId }, written: [written(position, SECURITY_GROUPS_PROJECTION)] };
    });
  }
}
