/**
 * The bucket aggregate (stream `bucket-<bucketId>`). The bucket id derives from the creating
 * command, so a name deleted and taken again names a new bucket with new object streams.
 *
 *   (create) -> ACTIVE --delete--> DELETED
 *
 * - The name is reserved across tenants first (`bucket-names.ts`); the bucket records it.
 * - Versioning: `disabled` (never enabled) -> `enabled` <-> `suspended`. Once enabled it can only
 *   be suspended: versions already kept stay, new writes replace the `null` version. Turning it
 *   off on a bucket that never had it is a no-op.
 * - Delete of a bucket that still holds objects (live or older versions, delete markers, or
 *   multipart uploads in progress) is 409 `bucket_not_empty` unless forced; the handler counts
 *   them and passes the count in. A forced delete records how much it removed.
 * - Lifecycle rules `{ruleId, prefix, expirationDays}`: at most 100 per bucket; a rule with the
 *   same id repeated identically is a no-op.
 * - A DELETED bucket is gone: every command on it is 404.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import { throwIfInvalid, type FieldProblem } from '../../compute/domain/validation';
import type { Decider } from '../../kernel/decider';
import { bucketNameProblems } from './bucket-name';

export const BUCKET_CATEGORY = 'bucket';
export const MAX_LIFECYCLE_RULES = 100;
export const MAX_EXPIRATION_DAYS = 36500;

export type Versioning = 'disabled' | 'enabled' | 'suspended';

export interface LifecycleRule {
  ruleId: string;
  prefix: string;
  expirationDays: number;
}

export interface CreateBucket {
  type: 'CreateBucket';
  bucketId: string;
  tenantId: string;
  name: string;
  isPublic: boolean;
  now: Date;
}

export interface SetBucketVersioning {
  type: 'SetBucketVersioning';
  enabled: boolean;
  now: Date;
}

export interface DeleteBucket {
  type: 'DeleteBucket';
  /** Object versions (delete markers included) and multipart uploads the bucket still holds. */
  contents: { versions: number; uploads: number };
  force: boolean;
  now: Date;
}

export interface AddLifecycleRule {
  type: 'AddLifecycleRule';
  rule: LifecycleRule;
  now: Date;
}

export interface RemoveLifecycleRule {
  type: 'RemoveLifecycleRule';
  ruleId: string;
  now: Date;
}

export type BucketCommand =
  CreateBucket | SetBucketVersioning | DeleteBucket | AddLifecycleRule | RemoveLifecycleRule;

export type BucketEvent =
  | {
      type: 'BucketCreated';
      data: { bucketId: string; tenantId: string; name: string; isPublic: boolean; at: string };
    }
  | {
      type: 'BucketVersioningChanged';
      data: { bucketId: string; versioning: Versioning; at: string };
    }
  | {
      type: 'BucketDeleted';
      data: {
        bucketId: string;
        name: string;
        forced: boolean;
        removed: { versions: number; uploads: number };
        at: string;
      };
    }
  | { type: 'LifecycleRuleAdded'; data: { bucketId: string; rule: LifecycleRule; at: string } }
  | { type: 'LifecycleRuleRemoved'; data: { bucketId: string; ruleId: string; at: string } };

export interface BucketState {
  status: 'NONE' | 'ACTIVE' | 'DELETED';
  bucketId: string | null;
  tenantId: string | null;
  name: string;
  isPublic: boolean;
  versioning: Versioning;
  lifecycleRules: LifecycleRule[];
  createdAt: string | null;
  updatedAt: string | null;
}

export function initialBucketState(): BucketState {
  return {
    status: 'NONE',
    bucketId: null,
    tenantId: null,
    name: '',
    isPublic: false,
    versioning: 'disabled',
    lifecycleRules: [],
    createdAt: null,
    updatedAt: null,
  };
}

export function evolveBucket(state: BucketState, event: BucketEvent): BucketState {
  switch (event.type) {
    case 'BucketCreated':
      return {
        ...initialBucketState(),
        status: 'ACTIVE',
        bucketId: event.data.bucketId,
        tenantId: event.data.tenantId,
        name: event.data.name,
        isPublic: event.data.isPublic,
        createdAt: event.data.at,
        updatedAt: event.data.at,
      };
    case 'BucketVersioningChanged':
      return { ...state, versioning: event.data.versioning, updatedAt: event.data.at };
    case 'BucketDeleted':
      return { ...state, status: 'DELETED', updatedAt: event.data.at };
    case 'LifecycleRuleAdded':
      return {
        ...state,
        lifecycleRules: [
          ...state.lifecycleRules.filter((r) => r.ruleId !== event.data.rule.ruleId),
          event.data.rule,
        ],
        updatedAt: event.data.at,
      };
    case 'LifecycleRuleRemoved':
      return {
        ...state,
        lifecycleRules: state.lifecycleRules.filter((r) => r.ruleId !== event.data.ruleId),
        updatedAt: event.data.at,
      };
    default:
      return state;
  }
}

export function lifecycleRuleProblems(rule: LifecycleRule): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (typeof rule.prefix !== 'string' || Buffer.byteLength(rule.prefix, 'utf8') > 1024) {
    problems.push({ path: 'prefix', message: 'must be a string of at most 1024 bytes' });
  }
  if (
    !Number.isInteger(rule.expirationDays) ||
    rule.expirationDays < 1 ||
    rule.expirationDays > MAX_EXPIRATION_DAYS
  ) {
    problems.push({
      path: 'expiration_days',
      message: `must be an integer from 1 to ${MAX_EXPIRATION_DAYS}`,
    });
  }
  return problems;
}

function notFound(): AppError {
  return new AppError('not_found', 'bucket not found', { resource: 'bucket' });
}

export function decideBucket(command: BucketCommand, state: BucketState): BucketEvent[] {
  const at = command.now.toISOString();
  if (command.type === 'CreateBucket') {
    if (state.status !== 'NONE') {
      throw new AppError('conflict', `bucket ${command.bucketId} already exists`, {
        resource: 'bucket',
        id: command.bucketId,
      });
    }
    throwIfInvalid(bucketNameProblems(command.name, 'name'));
    const { bucketId, tenantId, name, isPublic } = command;
    return [{ type: 'BucketCreated', data: { bucketId, tenantId, name, isPublic, at } }];
  }
  if (state.status !== 'ACTIVE') throw notFound();
  const bucketId = state.bucketId as string;

  switch (command.type) {
    case 'SetBucketVersioning': {
      const next: Versioning = command.enabled
        ? 'enabled'
        : state.versioning === 'disabled'
          ? 'disabled'
          : 'suspended';
      if (next === state.versioning) return [];
      return [{ type: 'BucketVersioningChanged', data: { bucketId, versioning: next, at } }];
    }
    case 'DeleteBucket': {
      const { versions, uploads } = command.contents;
      if ((versions > 0 || uploads > 0) && !command.force) {
        throw new AppError(
          'bucket_not_empty',
          `bucket ${state.name} is not empty (${versions} object version(s), ${uploads} multipart upload(s)); delete them first or pass ?force=true`,
          { resource: 'bucket', name: state.name, versions, uploads },
        );
      }
      return [
        {
          type: 'BucketDeleted',
          data: {
            bucketId,
            name: state.name,
            forced: command.force,
            removed: { versions, uploads },
            at,
          },
        },
      ];
    }
    case 'AddLifecycleRule': {
      throwIfInvalid(lifecycleRuleProblems(command.rule));
      const existing = state.lifecycleRules.find((r) => r.ruleId === command.rule.ruleId);
      if (existing) {
        if (
          existing.prefix === command.rule.prefix &&
          existing.expirationDays === command.rule.expirationDays
        ) {
          return [];
        }
        throw new AppError('conflict', `lifecycle rule ${command.rule.ruleId} already exists`, {
          resource: 'lifecycle_rule',
          id: command.rule.ruleId,
        });
      }
      if (state.lifecycleRules.length >= MAX_LIFECYCLE_RULES) {
        throw new AppError(
          'conflict',
          `a bucket has at most ${MAX_LIFECYCLE_RULES} lifecycle rules`,
          { resource: 'lifecycle_rule', limit: MAX_LIFECYCLE_RULES },
        );
      }
      return [{ type: 'LifecycleRuleAdded', data: { bucketId, rule: command.rule, at } }];
    }
    case 'RemoveLifecycleRule': {
      if (!state.lifecycleRules.some((r) => r.ruleId === command.ruleId)) {
        throw AppError.notFound('lifecycle_rule', command.ruleId);
      }
      return [{ type: 'LifecycleRuleRemoved', data: { bucketId, ruleId: command.ruleId, at } }];
    }
    default:
      return assertUnreachable(command);
  }
}

export const bucketDecider: Decider<BucketCommand, BucketEvent, BucketState> = {
  category: BUCKET_CATEGORY,
  initialState: initialBucketState,
  evolve: evolveBucket,
  decide: decideBucket,
};

/** Another tenant's bucket (or a deleted one) is 404 to the caller. */
export function bucketVisibleTo(state: BucketState, tenantId: string): boolean {
  return state.status === 'ACTIVE' && state.tenantId === tenantId;
}
