/**
 * Quotas as a platform service, end to end: operators read and override a tenant's limits
 * (GET/PUT /admin/quotas/:tenantId), the override is an audited event in the tenant's ledger, and
 * a create over the limit is 403 quota_exceeded with nothing appended. Volumes are the family
 * under test (the simulated engine is enough: the quota is checked before the engine is called).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import {
  itemsOf,
  refusedWith,
  sdkFor,
  sdkSignUp,
  unwrap,
  type NimbusClient,
  type Schemas,
  type SdkAccount,
} from '../support/sdk';
import { bearer, countEvents, eventsOfType } from './identity.helpers';

const IGNORED = ['AccessDenied'];

describe('quotas (e2e): operator overrides and exceeded quotas', () => {
  let t: TestApp;
  let operator: NimbusClient;
  let operatorToken: string;
  let tenant: SdkAccount;

  beforeAll(async () => {
    const operatorEmail = `quota-operator-${randomUUID()}@example.com`;
    t = await startTestApp({
      label: 'quotas_e2e',
      config: {
        docker: 'simulated',
        authRateLimitPerMinute: 1000,
        operatorEmails: [operatorEmail],
        quota: { instances: 10, vcpus: 16, memoryMb: 32768, volumes: 1 },
      },
    });
    // The operator is whoever has the configured address.
    const anonymous = sdkFor(t);
    const password = 'correct-horse-7-battery';
    unwrap(
      await anonymous.POST('/auth/register', {
        body: { email: operatorEmail, password, name: 'Operator' },
      }),
    );
    const session = unwrap(
      await anonymous.POST('/auth/login', { body: { email: operatorEmail, password } }),
    );
    operatorToken = session.access_token;
    operator = sdkFor(t, { token: operatorToken });
    tenant = await sdkSignUp(t, 'quota-tenant');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  const createVolume = (name: string, sdk: NimbusClient = tenant.sdk) =>
    sdk.POST('/volumes', { body: { name, size_gb: 1 } });
  const quotasOf = (tenantId: string, sdk: NimbusClient = operator) =>
    sdk.GET('/admin/quotas/{tenantId}', { params: { path: { tenantId } } });
  const override = (tenantId: string, body: Record<string, number | null>) =>
    operator.PUT('/admin/quotas/{tenantId}', { params: { path: { tenantId } }, body });
  const quotaOf = (body: Schemas['TenantQuotasJson'], name: string) =>
    body.quotas.find((q) => q.name === name);

  it("GET shows every declared quota with its default, limit and the tenant's usage", async () => {
    const quotas = unwrap(await quotasOf(tenant.tenantId));
    expect(quotas.tenant_id).toBe(tenant.tenantId);
    expect(quotas.quotas.map((q) => q.name)).toEqual(
      expect.arrayContaining(['instances', 'vcpus', 'memory_mb', 'volumes']),
    );
    expect(quotaOf(quotas, 'volumes')).toEqual({
      name: 'volumes',
      description: expect.any(String),
      context: 'compute',
      limit: 1,
      default_limit: 1,
      overridden: false,
      usage: 0,
    });
  });

  it('a create over the limit is 403 quota_exceeded and appends nothing', async () => {
    unwrap(await createVolume('first'));
    const before = await countEvents(t, IGNORED);
    const refused = refusedWith(await createVolume('second'), 403, 'quota_exceeded');
    expect(refused).toMatchObject({
      message: 'quota exceeded for volumes: limit 1, in use 1, requested 1',
      details: { quota: 'volumes', limit: 1, current: 1, requested: 1 },
    });
    expect(await countEvents(t, IGNORED)).toBe(before);
  });

  it('only operators read or override quotas; bad overrides are 400; unknown tenants 404', async () => {
    const before = await countEvents(t, IGNORED);
    refusedWith(await quotasOf(tenant.tenantId, tenant.sdk), 403, 'forbidden');
    const denied = await tenant.sdk.PUT('/admin/quotas/{tenantId}', {
      params: { path: { tenantId: tenant.tenantId } },
      body: { volumes: 100 },
    });
    refusedWith(denied, 403, 'forbidden');
    // Malformed overrides go raw: the SDK's types would not let them be written.
    for (const body of [
      { volumes: -1 },
      { volumes: 2.5 },
      { volumes: '2' },
      { nosuch: 1 },
      { 'Bad Name': 1 },
      {},
      [1],
    ]) {
      const res = await t
        .http()
        .put(`/admin/quotas/${tenant.tenantId}`)
        .set(bearer(operatorToken))
        .send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
    for (const id of [randomUUID(), 'not-a-uuid']) {
      refusedWith(await quotasOf(id), 404, 'not_found');
      refusedWith(await override(id, { volumes: 2 }), 404, 'not_found');
    }
    expect(await countEvents(t, IGNORED)).toBe(before);
  });

  it('an operator raises the limit for this tenant (an audited event), then restores the default', async () => {
    const raised = unwrap(await override(tenant.tenantId, { volumes: 2 }));
    expect(quotaOf(raised, 'volumes')).toMatchObject({
      limit: 2,
      default_limit: 1,
      overridden: true,
      usage: 1,
    });
    const [event] = await eventsOfType(t, 'QuotaLimitsOverridden');
    expect(event.stream_id).toBe(`quota-${tenant.tenantId}`);
    expect(event.data).toMatchObject({ changes: { volumes: 2 }, overrides: { volumes: 2 } });

    // Another tenant keeps the default.
    const other = await sdkSignUp(t, 'quota-other');
    unwrap(await createVolume('o', other.sdk));
    refusedWith(await createVolume('o2', other.sdk), 403, 'quota_exceeded');

    unwrap(await createVolume('second'));
    refusedWith(await createVolume('third'), 403, 'quota_exceeded');

    // The tenant's audit log shows the operator's change.
    let actions: string[] = [];
    for (let i = 0; i < 200 && !actions.includes('QUOTA_OVERRIDE'); i++) {
      const audit = unwrap(
        await tenant.sdk.GET('/audit', { params: { query: { action: 'QUOTA_OVERRIDE' } } }),
      );
      actions = itemsOf(audit).map((r) => r.action);
      if (!actions.includes('QUOTA_OVERRIDE')) await new Promise((r) => setTimeout(r, 50));
    }
    expect(actions).toContain('QUOTA_OVERRIDE');

    // Back to the default: nothing is taken away, the next create is refused.
    const restored = unwrap(await override(tenant.tenantId, { volumes: null }));
    expect(quotaOf(restored, 'volumes')).toMatchObject({
      limit: 1,
      overridden: false,
      usage: 2,
    });
    const refused = refusedWith(await createVolume('fourth'), 403, 'quota_exceeded');
    expect(refused.details).toMatchObject({ limit: 1, current: 2 });
  });
});
