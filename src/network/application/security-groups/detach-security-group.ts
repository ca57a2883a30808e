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
import type { MembershipRequest } from './attach-security-group';
import type { SecurityGroupChanged } from './create-security-group';

/**
 * POST /security-groups/detach: the NIC leaves the port group (realized), then
 * SecurityGroupDetached. An instance keeps at least one group (409 invalid_state): a NIC in no
 * port group would admit every packet.
 */
export class DetachSecurityGroup extends UseCaseCommand<SecurityGroupChanged> {
  constructor(
    readonly request: MembershipRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DetachSecurityGroup)
export class DetachSecurityGroupHandler extends UseCaseHandler<
  DetachSecurityGroup,
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
  }: DetachSecurityGroup): Promise<Handled<SecurityGroupChanged>> {
    const tenantId = tenantOf(ctx);
    const { group_id: groupId, instance_id: instanceId } = request;
    const group = await this.ops.visibleSecurityGroup(tenantId, groupId);
    const placement = await this.queries.placementOf(tenantId, instanceId);
    if (!placement) throw AppError.notFound('instance', instanceId);
    const command = { type: 'DetachSecurityGroup' as const, instanceId, now: ctx.now };
    if (securityGroupDecider.decide(command, group).length > 0) {
      const groups = await this.queries.groupsOfInstance(instanceId);
      if (groups.length <= 1) {
        throw AppError.invalidState(
          `security group ${groupId} is the only group of instance ${instanceId}; attach another first`,
          { instance_id: instanceId, groups },
        );
      }
    }
    const fabric = this.ops.fabric;
    await this.ops.applyToFabric('detach the security group', () =>
      fabric.removeFromSecurityGroup(groupId, instanceId),
    );
    let position;
    try {
      position = (await this.ops.executor.execute(securityGroupDecider, groupId, command, ctx))
        .position;
    } catch (error) {
      await this.ops.undoOnFabric(`membership of ${instanceId} in ${groupId}`, () =>
        fabric.addToSecurityGroup(groupId, instanceId),
      );
      throw error;
    }
    return { result: { groupId }, written: [written(position, SECURITY_GROUPS_PROJECTION)] };
  }
}
