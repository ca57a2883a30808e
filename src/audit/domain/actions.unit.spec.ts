import { describe, expect, it } from 'vitest';
import {
  AuditActionCatalog,
  AuditCatalogError,
  presentAuditRow,
  toAuditRecord,
  type AuditableEvent,
} from './actions';
import { COMPUTE_RESOURCE_KINDS } from '../../compute/resources';
import { IDENTITY_RESOURCE_KINDS } from '../../identity/resources';
import { ResourceCatalog } from '../../platform/resources/resource-catalog';

/** The catalog as identity and compute declare it in their resource-kind descriptors. */
const defaultAuditCatalog = (): AuditActionCatalog =>
  new ResourceCatalog([...IDENTITY_RESOURCE_KINDS, ...COMPUTE_RESOURCE_KINDS]).audit;

const event = (overrides: Partial<AuditableEvent> = {}): AuditableEvent => ({
  id: '0b8f3a2e-1c4d-5e6f-8a9b-0c1d2e3f4a5b',
  type: 'InstanceLaunchRequested',
  data: { instanceId: 'a1b2c3d4' },
  streamId: 'instance-a1b2c3d4',
  metadata: {
    tenantId: 't-1',
    actor: { type: 'user', id: 'u-1' },
    requestId: 'req-1',
    sourceIp: '1.2.3.4',
    occurredAt: '2026-01-05T23:00:00Z',
  },
  ...overrides,
});

describe('audit action catalog', () => {
  const catalog = defaultAuditCatalog();

  it('maps an event to the seed row shape', () => {
    const record = toAuditRecord(event(), catalog, { actorLabel: () => 'user@example.com' });
    expect(record && presentAuditRow(record)).toEqual({
      id: '0b8f3a2e-1c4d-5e6f-8a9b-0c1d2e3f4a5b',
      timestamp: '2026-01-05T23:00:00Z',
      actor: 'user@example.com',
      action: 'INSTANCE_LAUNCH',
      resource: 'instance/a1b2c3d4',
      status: 'success',
      ip_address: '1.2.3.4',
      request_id: 'req-1',
    });
    expect(record).toMatchObject({
      tenant_id: 't-1',
      actor_type: 'user',
      actor_id: 'u-1',
      event_type: 'InstanceLaunchRequested',
    });
  });

  it.each([
    ['LoginSucceeded', 'user-u-9', 'USER_LOGIN', 'user/u-9', 'success'],
    ['LoginFailed', 'user-u-9', 'USER_LOGIN', 'user/u-9', 'failure'],
    ['ApiKeyCreated', 'apikey-k-1', 'API_KEY_CREATE', 'api_key/k-1', 'success'],
    ['InstanceLaunchFailed', 'instance-i-1', 'INSTANCE_LAUNCH', 'instance/i-1', 'failure'],
    ['TenantMemberAdded', 'tenant-t-1', 'TENANT_MEMBER_ADD', 'tenant/t-1', 'success'],
  ])('%s on %s is %s %s (%s)', (type, streamId, action, resource, status) => {
    expect(toAuditRecord(event({ type, streamId }), catalog)).toMatchObject({
      action,
      resource,
      status,
    });
  });

  it('records denials with the refused action and resource', () => {
    const denied = event({
      type: 'AccessDenied',
      streamId: 'denial-x',
      data: { action: 'INSTANCE_TERMINATE', resource: 'instance/i-7', status: 403 },
      metadata: { ...event().metadata, actor: { type: 'api_key', id: 'k-1' } },
    });
    expect(toAuditRecord(denied, catalog)).toMatchObject({
      action: 'INSTANCE_TERMINATE',
      resource: 'instance/i-7',
      status: 'denied',
      actor: 'api_key:k-1',
    });
    const rateLimited = event({
      type: 'AccessDenied',
      streamId: 'denial-y',
      data: { method: 'POST', path: '/instances', status: 429 },
    });
    expect(toAuditRecord(rateLimited, catalog)).toMatchObject({
      action: 'ACCESS_DENIED',
      resource: 'route/POST /instances',
      status: 'denied',
    });
  });

  it('does not audit ignored or unknown event types, and can name the unclassified', () => {
    expect(toAuditRecord(event({ type: 'RefreshTokenIssued' }), catalog)).toBeNull();
    expect(toAuditRecord(event({ type: 'SomethingNew' }), catalog)).toBeNull();
    expect(catalog.isIgnored('RefreshTokenIssued')).toBe(true);
    expect(
      catalog.unclassified(['LoginFailed', 'RefreshTokenIssued', 'SomethingNew', 'SomethingNew']),
    ).toEqual(['SomethingNew']);
  });

  it('describes each action once with the event types behind it', () => {
    const described = catalog.describe();
    const login = described.find((d) => d.action === 'USER_LOGIN');
    expect(login).toEqual({
      action: 'USER_LOGIN',
      description: 'A user signed in (or failed to).',
      context: 'identity',
      resource_kind: 'user',
      event_types: [
        { type: 'LoginFailed', status: 'failure', confirmed: true },
        { type: 'LoginSucceeded', status: 'success', confirmed: true },
      ],
    });
    const names = described.map((d) => d.action);
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(names.length);
    expect(catalog.actionNames().has('API_KEY_CREATE')).toBe(true);
  });

  it('refuses duplicates and bad names; a context confirms an inferred entry by replacing it', () => {
    const c = new AuditActionCatalog().register([
      {
        eventType: 'VolumeCreated',
        action: 'VOLUME_CREATE',
        description: 'd',
        context: 'compute',
        resourceKind: 'volume',
        confirmed: false,
      },
    ]);
    const again = {
      eventType: 'VolumeCreated',
      action: 'VOLUME_CREATE',
      description: 'd',
      context: 'compute',
      resourceKind: 'volume',
      confirmed: true,
    };
    expect(() => c.register([again])).toThrow(AuditCatalogError);
    expect(() =>
      c.ignore([{ eventType: 'VolumeCreated', context: 'compute', reason: 'x' }]),
    ).toThrow(AuditCatalogError);
    expect(() =>
      c.register([{ ...again, eventType: 'VolumeGrown', action: 'volume-grow' }]),
    ).toThrow(AuditCatalogError);
    expect(() =>
      c.register([{ ...again, eventType: 'volume_grown', action: 'VOLUME_GROW' }]),
    ).toThrow(AuditCatalogError);
    expect(() =>
      c.register([{ ...again, eventType: 'VolumeAlsoCreated', description: 'other' }]),
    ).toThrow(AuditCatalogError);
    c.confirm([{ ...again, action: 'VOLUME_PROVISION' }]);
    expect(c.entryFor('VolumeCreated')).toMatchObject({
      action: 'VOLUME_PROVISION',
      confirmed: true,
    });
    expect(() => c.confirm([again])).toThrow(AuditCatalogError);
  });
});
