import { AttachPolicyHandler } from './attach-policy';
import { CreatePolicyHandler } from './create-policy';
import { DeletePolicyHandler } from './delete-policy';
import { DetachPolicyHandler } from './detach-policy';

export { AttachPolicy } from './attach-policy';
export { CreatePolicy } from './create-policy';
export { DeletePolicy } from './delete-policy';
export { DetachPolicy } from './detach-policy';
export { PoliciesService, type PolicyView } from './policies.service';

/** The policy use cases' handlers (providers of IdentityModule). */
export const POLICY_USE_CASES = [
  CreatePolicyHandler,
  DeletePolicyHandler,
  AttachPolicyHandler,
  DetachPolicyHandler,
];
