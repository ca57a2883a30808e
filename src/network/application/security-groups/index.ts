import { AddSecurityGroupRuleHandler } from './add-security-group-rule';
import { AttachSecurityGroupHandler } from './attach-security-group';
import { CreateSecurityGroupHandler } from './create-security-group';
import { DeleteSecurityGroupHandler } from './delete-security-group';
import { DetachSecurityGroupHandler } from './detach-security-group';
import { RemoveSecurityGroupRuleHandler } from './remove-security-group-rule';

export {
  AddSecurityGroupRule,
  type AddRuleRequest,
  type RuleChanged,
} from './add-security-group-rule';
export { AttachSecurityGroup, type MembershipRequest } from './attach-security-group';
export {
  CreateSecurityGroup,
  type CreateSecurityGroupRequest,
  type SecurityGroupChanged,
} from './create-security-group';
export { DeleteSecurityGroup } from './delete-security-group';
export { DetachSecurityGroup } from './detach-security-group';
export { RemoveSecurityGroupRule } from './remove-security-group-rule';

/** The security group use cases' handlers (providers of NetworkModule). */
export const SECURITY_GROUP_USE_CASES = [
  CreateSecurityGroupHandler,
  DeleteSecurityGroupHandler,
  AddSecurityGroupRuleHandler,
  RemoveSecurityGroupRuleHandler,
  AttachSecurityGroupHandler,
  DetachSecurityGroupHandler,
];
