/**
 * The secrets context's resource family: what the audit log and the timeline know about secrets.
 * Events carry only sealed values, and the audit entries name the secret, never its value.
 */
import { audited, resourceKind } from '../platform/resources/resource-kind';
import { secretDecider } from './domain';

export const SECRETS = resourceKind(secretDecider, {
  context: 'secrets',
  family: 'secret',
  readModel: 'secrets_secrets',
  actions: {
    SECRET_CREATE: 'A secret was created.',
    SECRET_ROTATE: 'A secret was rotated.',
    SECRET_DELETE: 'A secret was deleted.',
  },
  events: {
    SecretCreated: audited('SECRET_CREATE'),
    SecretRotated: audited('SECRET_ROTATE'),
    SecretDeleted: audited('SECRET_DELETE'),
  },
});

export const SECRET_RESOURCE_KINDS = [SECRETS];
