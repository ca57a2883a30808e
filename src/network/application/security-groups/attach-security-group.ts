import { CommandHandler } from '@nestjs/cqrs';
import { SECURITY_GROUPS_PROJECTION } from '../../../../projections/network';
import { AppError } from '../../../common/errors/app-error';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  tenantOf,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { securityGroupDecider } from '../../domain';
import { NetworkQueries } from '../network-queries';
import { NetworkOperations } from '../network-operations';
import type { SecurityGroupChanged } from './create-security-group';

export interface MembershipRequest {
  instance_id: string;
  group_id: string;
}

/**
 * POST /security-groups/attach: the instance's NIC joins the group's port group (realized), then
 * SecurityGroupAttached. The instance must have a NIC in the group's VPC (404 for an instance the
 * caller cannot see or that has none, 409 invalid_state for one in another VPC).
 */
export class AttachSecurityGroup extends UseCaseCommand<SecurityGroupChanged> {
  constructor(
    readonly request: MembershipRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AttachSecurityGroup)
export class AttachSecurityGroupHandler extends UseCaseHandler<
  AttachSecurityGroup,
  SecurityGroupChanged
> {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly queries: NetworkQueries,
  ) {
    super();
  }

  protected async handle({
    request,
    ctx,
  }: AttachSecurityGroup): Promise<Handled<SecurityGroupChanged>> {
    const tenantId = tenantOf(ctx);
    const { group_id: groupId, instance_id: instanceId } = request;
    const group = await this.ops.visibleSecurityGroup(tenantId, groupId);
    const placement = await this.queries.placementOf(tenantId, instanceId);
    if (!placement) throw AppError.notFound('instance', instanceId);
    if (placement.vpcId !== group.vpcId) {
      throw AppError.invalidState(
        `instance ${instanceId} is in VPC ${placement.vpcId}; security group ${groupId} belongs to VPC ${group.vpcId}`,
        { instance_vpc_id: placement.vpcId, group_vpc_id: group.vpcId },
      );
    }
    const command = { type: 'AttachSecurityGroup' as const, instanceId, now: ctx.now };
    securityGroupDecider.decide(command, group);
    const fabric = this.ops.fabric;
    await this.ops.applyToFabric('attach the security group', () =>
      fabric.addToSecurityGroup(groupId, instanceId),
    );
    let position;
    try {
      position = (await this.ops.executor.execute(securityGroupDecider, groupId, command, ctx))
        .position;
    } catch (error) {
      await this.ops.undoOnFabric(`membership of ${instanceId} in ${groupId}`, () =>
        fabric.removeFromSecurityGroup(groupId, instanceId),
      );
      throw error;
    }
    return { result: { groupId }, written: [written(position, SECURITY_GROUPS_PROJECTION)] };
  }
}
