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
import { securityGroupDecider, type AddSecurityGroupRule as AddRuleDecision } from '../../domain';
import { NetworkOperations, securityRuleSpec } from '../network-operations';

export interface AddRuleRequest {
  direction: string;
  protocol: string;
  port_min?: number | null;
  port_max?: number | null;
  cidr: string;
  priority?: number | null;
}

/** What a rule use case answers: the group and the rule. */
export interface RuleChanged {
  groupId: string;
  ruleId: string;
}

/**
 * POST /security-groups/:id/rules: an allow-related ACL on the group's port group, realized
 * (the rule admits traffic when the answer comes), then SecurityGroupRuleAdded. The same traffic
 * twice is 409.
 */
export class AddSecurityGroupRule extends UseCaseCommand<RuleChanged> {
  constructor(
    readonly groupId: string,
    readonly request: AddRuleRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AddSecurityGroupRule)
export class AddSecurityGroupRuleHandler extends UseCaseHandler<AddSecurityGroupRule, RuleChanged> {
  constructor(private readonly ops: NetworkOperations) {
    super();
  }

  protected async handle({
    groupId,
    request,
    ctx,
  }: AddSecurityGroupRule): Promise<Handled<RuleChanged>> {
    const tenantId = tenantOf(ctx);
    const ruleId = uuidV5(`security-group-rule/${ctx.commandId}`);
    const group = await this.ops.visibleSecurityGroup(tenantId, groupId);
    const command: AddRuleDecision = {
      type: 'AddSecurityGroupRule',
      rule: {
        ruleId,
        direction: request.direction,
        protocol: request.protocol,
        portMin: request.port_min ?? null,
        portMax: request.port_max ?? null,
        cidr: request.cidr,
        priority: request.priority ?? undefined,
      },
      now: ctx.now,
    };
    const decided = securityGroupDecider.decide(command, group);
    const added = decided.find((e) => e.type === 'SecurityGroupRuleAdded');
    const fabric = this.ops.fabric;
    if (added?.type === 'SecurityGroupRuleAdded') {
      await this.ops.applyToFabric('add the rule', () =>
        fabric.ensureSecurityRule(securityRuleSpec(groupId, added.data.rule)),
      );
    }
    let position;
    try {
      position = (await this.ops.executor.execute(securityGroupDecider, groupId, command, ctx))
        .position;
    } catch (error) {
      await this.ops.undoOnFabric(`rule ${ruleId}`, () =>
        fabric.removeSecurityRule(groupId, ruleId),
      );
      throw error;
    }
    return {
      result: { groupId, ruleId },
      written: [written(position, SECURITY_GROUPS_PROJECTION)],
    };
  }
}
