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
import { NetworkOperations, securityRuleSpec } from '../network-operations';
import type { RuleChanged } from './add-security-group-rule';

/**
 * DELETE /security-groups/:id/rules/:ruleId: the ACL leaves the port group (realized), then
 * SecurityGroupRuleRemoved. As OVN does, connections the rule had admitted are cut too.
 */
export class RemoveSecurityGroupRule extends UseCaseCommand<RuleChanged> {
  constructor(
    readonly groupId: string,
    readonly ruleId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RemoveSecurityGroupRule)
export class RemoveSecurityGroupRuleHandler extends UseCaseHandler<
  RemoveSecurityGroupRule,
  RuleChanged
> {
  constructor(private readonly ops: NetworkOperations) {
    super();
  }

  protected async handle({
    groupId,
    ruleId,
    ctx,
  }: RemoveSecurityGroupRule): Promise<Handled<RuleChanged>> {
    const tenantId = tenantOf(ctx);
    const group = await this.ops.visibleSecurityGroup(tenantId, groupId);
    const command = { type: 'RemoveSecurityGroupRule' as const, ruleId, now: ctx.now };
    securityGroupDecider.decide(command, group);
    const rule = group.rules.find((r) => r.ruleId === ruleId);
    const fabric = this.ops.fabric;
    await this.ops.applyToFabric('remove the rule', () =>
      fabric.removeSecurityRule(groupId, ruleId),
    );
    let position;
    try {
      position = (await this.ops.executor.execute(securityGroupDecider, groupId, command, ctx))
        .position;
    } catch (error) {
      if (rule) {
        await this.ops.undoOnFabric(`rule ${ruleId}`, () =>
          fabric.ensureSecurityRule(securityRuleSpec(groupId, rule)),
        );
      }
      throw error;
    }
    return {
      result: { groupId, ruleId },
      written: [written(position, SECURITY_GROUPS_PROJECTION)],
    };
  }
}
