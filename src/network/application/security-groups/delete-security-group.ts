import { CommandHandler } from '@nestjs/cqrs';
import { SECURITY_GROUPS_PROJECTION } from '../../../../projections/network';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  tenantOf,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { securityGroupDecider } from '../../domain';
import { ensureGroupOnFabric, NetworkOperations } from '../network-operations';
import type { SecurityGroupChanged } from './create-security-group';

/**
 * DELETE /security-groups/:id: the VPC's default group is deleted only with the VPC (409
 * invalid_state); a group with members is 409 dependency_violation naming the instances.
 */
export class DeleteSecurityGroup extends UseCaseCommand<SecurityGroupChanged> {
  constructor(
    readonly groupId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteSecurityGroup)
export class DeleteSecurityGroupHandler extends UseCaseHandler<
  DeleteSecurityGroup,
  SecurityGroupChanged
> {
  constructor(private readonly ops: NetworkOperations) {
    super();
  }

  protected async handle({
    groupId,
    ctx,
  }: DeleteSecurityGroup): Promise<Handled<SecurityGroupChanged>> {
    const tenantId = tenantOf(ctx);
    const { vpcId } = await this.ops.visibleSecurityGroup(tenantId, groupId);
    return this.ops.locks.vpc.run(vpcId as string, async () => {
      const group = await this.ops.visibleSecurityGroup(tenantId, groupId);
      const command = { type: 'DeleteSecurityGroup' as const, withVpc: false, now: ctx.now };
      securityGroupDecider.decide(command, group);
      const fabric = this.ops.fabric;
      await this.ops.applyToFabric('delete the security group', () =>
        fabric.removeSecurityGroup(groupId),
      );
      let position;
      try {
        position = (await this.ops.executor.execute(securityGroupDecider, groupId, command, ctx))
          .position;
      } catch (error) {
        await this.ops.undoOnFabric(`security group ${groupId}`, () =>
          ensureGroupOnFabric(fabric, group),
        );
        throw error;
      }
      await this.ops.readable(position, [SECURITY_GROUPS_PROJECTION]);
      return { result: { groupId }, written: [written(position, SECURITY_GROUPS_PROJECTION)] };
    });
  }
}
