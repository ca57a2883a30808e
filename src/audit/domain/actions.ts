/**
 * The audit action catalog: which events appear in the audit log, under which action name, with
 * which outcome. Served as `GET /audit/actions`.
 *
 * A registry keyed by event type. Each bounded context contributes its own entries
 * (`catalog.register(...)`) and explicitly lists the event types it does **not** audit
 * (`catalog.ignore(...)`, e.g. internal bookkeeping), so a completeness test can assert that every
 * event type a decider emits is one or the other (`catalog.unclassified(types)`).
 *
 * Action names are UPPER_SNAKE `<RESOURCE>_<VERB>` (`INSTANCE_LAUNCH`, `API_KEY_CREATE`). Several
 * event types may share one action with different outcomes (`LoginSucceeded` and `LoginFailed`
 * are both `USER_LOGIN`, success and failure).
 */

export type AuditStatus = 'success' | 'failure' | 'denied';

/** The event, as much of it as the audit mapping needs (a RecordedEvent fits). */
export interface AuditableEvent {
  id: string;
  type: string;
  data: unknown;
  streamId: string;
  metadata: {
    tenantId: string | null;
    actor: { type: 'user' | 'api_key' | 'system'; id: string };
    requestId: string | null;
    sourceIp: string | null;
    occurredAt: string;
  };
}

export interface AuditActionEntry {
  eventType: string;
  action: string;
  description: string;
  /** Owning bounded context: identity, compute, network, billing, webhooks... */
  context: string;
  /** The resource kind in `resource` ("instance" in "instance/<id>"). */
  resourceKind: string;
  /** Outcome this event stands for; `success` when absent. */
  status?: AuditStatus;
  /**
   * False when the event name was inferred from the issues and not yet confirmed by the context
   * that owns it. The owning context confirms by registering the entry itself.
   */
  confirmed: boolean;
  /** The resource id; by default the id part of the stream id (`instance-<id>` gives `<id>`). */
  resourceId?: (event: AuditableEvent) => string | null;
  /** An action depending on the event (a denial names the action that was refused). */
  actionOf?: (event: AuditableEvent) => string;
  /** A whole resource string overriding `resourceKind/resourceId` (a denial names the path). */
  resourceOf?: (event: AuditableEvent) => string;
}

export interface IgnoredEventType {
  eventType: string;
  context: string;
  /** Why it is not audited (another event of the same command carries the action, internal...). */
  reason: string;
}

/** One action as `GET /audit/actions` lists it. */
export interface AuditActionDescription {
  action: string;
  description: string;
  context: string;
  resource_kind: string;
  event_types: Array<{ type: string; status: AuditStatus; confirmed: boolean }>;
}

const ACTION_RE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;
const EVENT_TYPE_RE = /^[A-Z][A-Za-z0-9]*$/;

export class AuditCatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditCatalogError';
  }
}

export class AuditActionCatalog {
  private readonly entries = new Map<string, AuditActionEntry>();
  private readonly ignored = new Map<string, IgnoredEventType>();

  /** Adds entries; an event type may be registered once (a second registration is a bug). */
  register(entries: readonly AuditActionEntry[]): this {
    for (const entry of entries) {
      this.assertNew(entry.eventType);
      if (!ACTION_RE.test(entry.action)) {
        throw new AuditCatalogError(`action ${entry.action} is not UPPER_SNAKE <RESOURCE>_<VERB>`);
      }
      const known = this.findByAction(entry.action);
      if (known && known.description !== entry.description) {
        throw new AuditCatalogError(`action ${entry.action} described twice, differently`);
      }
      this.entries.set(entry.eventType, entry);
    }
    return this;
  }

  /** Declares event types that are deliberately not audited. */
  ignore(types: readonly IgnoredEventType[]): this {
    for (const t of types) {
      this.assertNew(t.eventType);
      this.ignored.set(t.eventType, t);
    }
    return this;
  }

  /**
   * Replaces an inferred entry with the owning context's own (confirmed) one, or registers it.
   * This is how a context confirms or corrects what the catalog guessed.
   */
  confirm(entries: readonly AuditActionEntry[]): this {
    for (const entry of entries) {
      const previous = this.entries.get(entry.eventType);
      if (previous && previous.confirmed) {
        throw new AuditCatalogError(`${entry.eventType} is already confirmed`);
      }
      this.entries.delete(entry.eventType);
      this.ignored.delete(entry.eventType);
      this.register([{ ...entry, confirmed: true }]);
    }
    return this;
  }

  entryFor(eventType: string): AuditActionEntry | undefined {
    return this.entries.get(eventType);
  }

  isIgnored(eventType: string): boolean {
    return this.ignored.has(eventType);
  }

  /** Event types neither audited nor ignored: a completeness test expects none. */
  unclassified(eventTypes: Iterable<string>): string[] {
    return [...new Set(eventTypes)].filter((t) => !this.entries.has(t) && !this.ignored.has(t));
  }

  /** Every action, with the event types that produce it, sorted by action name. */
  describe(): AuditActionDescription[] {
    const byAction = new Map<string, AuditActionDescription>();
    for (const entry of this.entries.values()) {
      let description = byAction.get(entry.action);
      if (!description) {
        description = {
          action: entry.action,
          description: entry.description,
          context: entry.context,
          resource_kind: entry.resourceKind,
          event_types: [],
        };
        byAction.set(entry.action, description);
      }
      description.event_types.push({
        type: entry.eventType,
        status: entry.status ?? 'success',
        confirmed: entry.confirmed,
      });
    }
    const list = [...byAction.values()];
    for (const d of list) d.event_types.sort((a, b) => compareText(a.type, b.type));
    return list.sort((a, b) => compareText(a.action, b.action));
  }

  /** Names of all actions (for validating `?action=` filters). */
  actionNames(): Set<string> {
    return new Set([...this.entries.values()].map((e) => e.action));
  }

  private findByAction(action: string): AuditActionEntry | undefined {
    for (const entry of this.entries.values()) if (entry.action === action) return entry;
    return undefined;
  }

  private assertNew(eventType: string): void {
    if (!EVENT_TYPE_RE.test(eventType)) {
      throw new AuditCatalogError(`event type ${eventType} is not PascalCase`);
    }
    if (this.entries.has(eventType) || this.ignored.has(eventType)) {
      throw new AuditCatalogError(`event type ${eventType} is already in the audit catalog`);
    }
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The id part of a `category-id` stream name. */
export function streamEntityId(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(dash + 1);
}

function field(name: string): (event: AuditableEvent) => string | null {
  return (event) => {
    const data = event.data;
    if (typeof data === 'object' && data !== null && name in data) {
      const value = (data as Record<string, unknown>)[name];
      return typeof value === 'string' ? value : null;
    }
    return null;
  };
}

type EntryInput = Omit<AuditActionEntry, 'context' | 'confirmed'>;

function entries(
  context: string,
  confirmed: boolean,
  list: readonly EntryInput[],
): AuditActionEntry[] {
  return list.map((e) => ({ ...e, context, confirmed }));
}

/**
 * Identity. The event names were read from src/identity/domain (user, api-key, tenant, policy
 * deciders); the mapping to actions is this catalog's proposal for identity to confirm.
 */
export const IDENTITY_AUDIT_ACTIONS: AuditActionEntry[] = entries('identity', false, [
  {
    eventType: 'UserRegistered',
    action: 'USER_REGISTER',
    description: 'A user account was registered.',
    resourceKind: 'user',
  },
  {
    eventType: 'LoginSucceeded',
    action: 'USER_LOGIN',
    description: 'A user signed in (or failed to).',
    resourceKind: 'user',
  },
  {
    eventType: 'LoginFailed',
    action: 'USER_LOGIN',
    description: 'A user signed in (or failed to).',
    resourceKind: 'user',
    status: 'failure',
  },
  {
    eventType: 'AccountLocked',
    action: 'USER_LOCK',
    description: 'An account was locked after repeated failed sign-ins.',
    resourceKind: 'user',
  },
  {
    eventType: 'SessionsRevoked',
    action: 'USER_SESSIONS_REVOKE',
    description: "A user's sessions were revoked (logout, password change).",
    resourceKind: 'user',
  },
  {
    eventType: 'PasswordChanged',
    action: 'USER_PASSWORD_CHANGE',
    description: 'A user changed their password.',
    resourceKind: 'user',
  },
  {
    eventType: 'ResetTokenIssued',
    action: 'USER_PASSWORD_RESET_REQUEST',
    description: 'A password reset was requested.',
    resourceKind: 'user',
  },
  {
    eventType: 'PasswordReset',
    action: 'USER_PASSWORD_RESET',
    description: 'A password was reset with a reset token.',
    resourceKind: 'user',
  },
  {
    eventType: 'RefreshTokenRotated',
    action: 'TOKEN_REFRESH',
    description: 'A refresh token was exchanged for a new token pair.',
    resourceKind: 'user',
  },
  {
    eventType: 'RefreshTokenFamilyRevoked',
    action: 'TOKEN_FAMILY_REVOKE',
    description: 'A refresh token family was revoked (reuse of a revoked token or sign-out).',
    resourceKind: 'user',
  },
  {
    eventType: 'DefaultTenantChanged',
    action: 'TENANT_SWITCH',
    description: "A user's default tenant was changed.",
    resourceKind: 'user',
  },
  {
    eventType: 'UserErased',
    action: 'USER_ERASE',
    description: 'A user was erased (personal data crypto-shredded).',
    resourceKind: 'user',
  },
  {
    eventType: 'ApiKeyCreated',
    action: 'API_KEY_CREATE',
    description: 'An API key was created.',
    resourceKind: 'api_key',
  },
  {
    eventType: 'ApiKeyRotated',
    action: 'API_KEY_ROTATE',
    description: 'An API key was rotated (the old secret stops working).',
    resourceKind: 'api_key',
  },
  {
    eventType: 'ApiKeyRevoked',
    action: 'API_KEY_REVOKE',
    description: 'An API key was revoked.',
    resourceKind: 'api_key',
  },
  {
    eventType: 'TenantCreated',
    action: 'TENANT_CREATE',
    description: 'A tenant was created.',
    resourceKind: 'tenant',
  },
  {
    eventType: 'TenantMemberAdded',
    action: 'TENANT_MEMBER_ADD',
    description: 'A member was added to a tenant.',
    resourceKind: 'tenant',
  },
  {
    eventType: 'TenantMemberRoleChanged',
    action: 'TENANT_MEMBER_ROLE_CHANGE',
    description: "A tenant member's role was changed.",
    resourceKind: 'tenant',
  },
  {
    eventType: 'TenantMemberRemoved',
    action: 'TENANT_MEMBER_REMOVE',
    description: 'A member was removed from a tenant.',
    resourceKind: 'tenant',
  },
  {
    eventType: 'PolicyCreated',
    action: 'IAM_POLICY_CREATE',
    description: 'An IAM policy was created.',
    resourceKind: 'policy',
  },
  {
    eventType: 'PolicyDeleted',
    action: 'IAM_POLICY_DELETE',
    description: 'An IAM policy was deleted.',
    resourceKind: 'policy',
  },
  {
    eventType: 'PolicyAttachedToUser',
    action: 'IAM_POLICY_ATTACH',
    description: 'An IAM policy was attached to a user.',
    resourceKind: 'policy',
  },
  {
    eventType: 'PolicyDetachedFromUser',
    action: 'IAM_POLICY_DETACH',
    description: 'An IAM policy was detached from a user.',
    resourceKind: 'policy',
  },
]);

/**
 * Denied requests (401/403/429 on authenticated routes). Issue 4 says they are recorded as events;
 * the name `AccessDenied` and its fields (`action`: the audit action that was refused, `resource`,
 * `method`, `path`) are inferred, to be confirmed by identity.
 */
export const DENIAL_AUDIT_ACTIONS: AuditActionEntry[] = entries('identity', false, [
  {
    eventType: 'AccessDenied',
    action: 'ACCESS_DENIED',
    description: 'A request was refused (401, 403 or 429 on an authenticated route).',
    resourceKind: 'route',
    status: 'denied',
    actionOf: (event) => {
      const action = field('action')(event);
      return action && ACTION_RE.test(action) ? action : 'ACCESS_DENIED';
    },
    resourceOf: (event) => {
      const resource = field('resource')(event);
      if (resource) return resource;
      const path = field('path')(event);
      const method = field('method')(event);
      return path ? `route/${method ? `${method} ` : ''}${path}` : 'route/unknown';
    },
  },
]);

/** Identity events that are not audit rows of their own. */
export const IDENTITY_IGNORED: IgnoredEventType[] = [
  { eventType: 'PasswordHashUpgraded', context: 'identity', reason: 'internal re-hash on sign-in' },
  {
    eventType: 'RefreshTokenIssued',
    context: 'identity',
    reason: 'part of USER_LOGIN or TOKEN_REFRESH',
  },
  { eventType: 'ValueClaimed', context: 'identity', reason: 'uniqueness claim (internal)' },
  { eventType: 'ValueReleased', context: 'identity', reason: 'uniqueness claim (internal)' },
];

/**
 * Compute. Inferred from issue 5 (instances, images, volumes); every name is to be confirmed by
 * the compute context. Lifecycle progress written by sagas (STARTING, RUNNING...) is not a
 * command of a caller and is left to compute to classify.
 */
export const COMPUTE_AUDIT_ACTIONS: AuditActionEntry[] = entries('compute', false, [
  {
    eventType: 'InstanceLaunchRequested',
    action: 'INSTANCE_LAUNCH',
    description: 'An instance launch was requested (or failed).',
    resourceKind: 'instance',
  },
  {
    eventType: 'InstanceLaunchFailed',
    action: 'INSTANCE_LAUNCH',
    description: 'An instance launch was requested (or failed).',
    resourceKind: 'instance',
    status: 'failure',
  },
  {
    eventType: 'InstanceUpdated',
    action: 'INSTANCE_UPDATE',
    description: "An instance's name or tags were changed.",
    resourceKind: 'instance',
  },
  {
    eventType: 'InstanceStopRequested',
    action: 'INSTANCE_STOP',
    description: 'An instance was asked to stop.',
    resourceKind: 'instance',
  },
  {
    eventType: 'InstanceStartRequested',
    action: 'INSTANCE_START',
    description: 'An instance was asked to start.',
    resourceKind: 'instance',
  },
  {
    eventType: 'InstanceRebootRequested',
    action: 'INSTANCE_REBOOT',
    description: 'An instance was asked to reboot.',
    resourceKind: 'instance',
  },
  {
    eventType: 'InstancePaused',
    action: 'INSTANCE_PAUSE',
    description: 'An instance was paused.',
    resourceKind: 'instance',
  },
  {
    eventType: 'InstanceResumed',
    action: 'INSTANCE_RESUME',
    description: 'A paused instance was resumed.',
    resourceKind: 'instance',
  },
  {
    eventType: 'InstanceResized',
    action: 'INSTANCE_RESIZE',
    description: 'An instance was resized to another instance type.',
    resourceKind: 'instance',
  },
  {
    eventType: 'InstanceTerminationRequested',
    action: 'INSTANCE_TERMINATE',
    description: 'An instance was asked to terminate.',
    resourceKind: 'instance',
  },
  {
    eventType: 'VolumeCreated',
    action: 'VOLUME_CREATE',
    description: 'A volume was created.',
    resourceKind: 'volume',
  },
  {
    eventType: 'VolumeDeleted',
    action: 'VOLUME_DELETE',
    description: 'A volume was deleted.',
    resourceKind: 'volume',
  },
  {
    eventType: 'VolumeAttached',
    action: 'VOLUME_ATTACH',
    description: 'A volume was attached to an instance.',
    resourceKind: 'volume',
  },
  {
    eventType: 'VolumeDetached',
    action: 'VOLUME_DETACH',
    description: 'A volume was detached from an instance.',
    resourceKind: 'volume',
  },
  {
    eventType: 'ImageRegistered',
    action: 'IMAGE_REGISTER',
    description: 'An image was registered.',
    resourceKind: 'image',
  },
  {
    eventType: 'ImageUploaded',
    action: 'IMAGE_UPLOAD',
    description: 'A root filesystem was uploaded to an image.',
    resourceKind: 'image',
  },
  {
    eventType: 'ImageImportRequested',
    action: 'IMAGE_IMPORT',
    description: 'An image import from a URL was requested.',
    resourceKind: 'image',
  },
  {
    eventType: 'ImageDeleted',
    action: 'IMAGE_DELETE',
    description: 'An image was deleted.',
    resourceKind: 'image',
  },
]);

/** Quota bookkeeping read from src/compute/domain/quota.ts: part of the commands that cause it. */
export const COMPUTE_IGNORED: IgnoredEventType[] = [
  'InstanceCapacityReserved',
  'InstanceCapacityReleased',
  'InstanceCapacityResized',
  'VolumeCapacityReserved',
  'VolumeCapacityReleased',
].map((eventType) => ({
  eventType,
  context: 'compute',
  reason: 'quota bookkeeping of another command',
}));

/** Webhooks and reports (issue 6): names proposed here, to be confirmed by their routes. */
export const LEDGER_AUDIT_ACTIONS: AuditActionEntry[] = entries('ledger', false, [
  {
    eventType: 'WebhookCreated',
    action: 'WEBHOOK_CREATE',
    description: 'A webhook subscription was created.',
    resourceKind: 'webhook',
  },
  {
    eventType: 'WebhookDeleted',
    action: 'WEBHOOK_DELETE',
    description: 'A webhook subscription was deleted.',
    resourceKind: 'webhook',
  },
  {
    eventType: 'WebhookDisabled',
    action: 'WEBHOOK_DISABLE',
    description: 'A webhook was disabled after repeated delivery failures.',
    resourceKind: 'webhook',
  },
  {
    eventType: 'ReportRequested',
    action: 'REPORT_GENERATE',
    description: 'A report was requested.',
    resourceKind: 'report',
  },
]);

/** The catalog with every context's entries known so far. */
export function defaultAuditCatalog(): AuditActionCatalog {
  return new AuditActionCatalog()
    .register(IDENTITY_AUDIT_ACTIONS)
    .register(DENIAL_AUDIT_ACTIONS)
    .register(COMPUTE_AUDIT_ACTIONS)
    .register(LEDGER_AUDIT_ACTIONS)
    .ignore(IDENTITY_IGNORED)
    .ignore(COMPUTE_IGNORED);
}

/** One audit log row with the fields the read model needs for filtering. */
export interface AuditRecord {
  /** The event id: deterministic, so a rebuilt audit log has the same ids. */
  id: string;
  timestamp: string;
  tenant_id: string | null;
  actor: string;
  actor_type: 'user' | 'api_key' | 'system';
  actor_id: string;
  action: string;
  resource: string;
  status: AuditStatus;
  ip_address: string | null;
  request_id: string | null;
  event_type: string;
}

/** `GET /audit` item. */
export interface AuditRowJson {
  id: string;
  timestamp: string;
  actor: string;
  action: string;
  resource: string;
  status: AuditStatus;
  ip_address: string | null;
  request_id: string | null;
}

export interface AuditMappingOptions {
  /**
   * How the actor reads: the projection passes a resolver that shows a user's email (or
   * `[erased]`) and an API key's name. Defaults: the user id, `api_key:<id>`, `system`.
   */
  actorLabel?: (actor: AuditableEvent['metadata']['actor']) => string;
}

export function defaultActorLabel(actor: AuditableEvent['metadata']['actor']): string {
  switch (actor.type) {
    case 'user':
      return actor.id;
    case 'api_key':
      return `api_key:${actor.id}`;
    case 'system':
      return 'system';
    default: {
      const unreachable: never = actor.type;
      return String(unreachable);
    }
  }
}

/** The audit row of an event, or null when the catalog does not audit its type. Pure. */
export function toAuditRecord(
  event: AuditableEvent,
  catalog: AuditActionCatalog,
  options: AuditMappingOptions = {},
): AuditRecord | null {
  const entry = catalog.entryFor(event.type);
  if (!entry) return null;
  const { metadata } = event;
  const resourceId = (entry.resourceId ?? ((e) => streamEntityId(e.streamId)))(event);
  const resource = entry.resourceOf
    ? entry.resourceOf(event)
    : `${entry.resourceKind}/${resourceId ?? 'unknown'}`;
  return {
    id: event.id,
    timestamp: metadata.occurredAt,
    tenant_id: metadata.tenantId,
    actor: (options.actorLabel ?? defaultActorLabel)(metadata.actor),
    actor_type: metadata.actor.type,
    actor_id: metadata.actor.id,
    action: entry.actionOf ? entry.actionOf(event) : entry.action,
    resource,
    status: entry.status ?? 'success',
    ip_address: metadata.sourceIp,
    request_id: metadata.requestId,
    event_type: event.type,
  };
}

export function presentAuditRow(record: AuditRecord): AuditRowJson {
  return {
    id: record.id,
    timestamp: record.timestamp,
    actor: record.actor,
    action: record.action,
    resource: record.resource,
    status: record.status,
    ip_address: record.ip_address,
    request_id: record.request_id,
  };
}
