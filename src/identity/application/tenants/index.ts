import { AddMemberHandler } from './add-member';
import { ChangeMemberRoleHandler } from './change-member-role';
import { CreateTenantHandler } from './create-tenant';
import { RemoveMemberHandler } from './remove-member';
import { SwitchTenantHandler } from './switch-tenant';

export { AddMember } from './add-member';
export { ChangeMemberRole } from './change-member-role';
export { CreateTenant } from './create-tenant';
export { RemoveMember } from './remove-member';
export { SwitchTenant } from './switch-tenant';
export * from './tenants.service';

/** The tenant use cases' handlers (providers of IdentityModule). */
export const TENANT_USE_CASES = [
  CreateTenantHandler,
  SwitchTenantHandler,
  AddMemberHandler,
  ChangeMemberRoleHandler,
  RemoveMemberHandler,
];
