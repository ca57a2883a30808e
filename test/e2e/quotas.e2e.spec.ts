/**
 * Quotas as a platform service, end to end: operators read and override a tenant's limits
 * (GET/PUT /admin/quotas/:tenantId), the override is an audited event in the tenant's ledger, and
 * a create over the limit is 403 quota_exceeded with nothing appended. Volumes are the family
 * under test (the simulated engine is enough: the quota is checked before the engine is called).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, countEvents, eventsOfType, signUp, type Account } from './identity.helpers';

const IGNORED = ['AccessDenied'];

describe('quotas (e2e): operator overrides and exceeded quotas', () => {
  let t: TestApp;
  let operator: Account;
  let tenant: Account;

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
    operator = await signUp(t, 'quota-operator');
    // signUp makes a unique address; the operator is whoever has the configured one.
    const res = await t
      .http()
      .post('/auth/register')
      .send({ email: operatorEmail, password: operator.password, name: 'Operator' });
    expect(res.status).toBe(201);
    const login = await t
      .http()
      .post('/auth/login')
      .send({ email: operatorEmail, password: operator.password });
    operator = { ...operator, accessToken: login.body.access_token as string };
    tenant = await signUp(t, 'quota-tenant');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  const asOperator = () => bearer(operator.accessToken);
  const asTenant = () => bearer(tenant.accessToken);
  const createVolume = (name: string) =>
    t.http().post('/volumes').set(asTenant()).send({ name, size_gb: 1 });
  const quotaOf = (body: { quotas: Array<{ name: string }> }, name: string) =>
    body.quotas.find((q) => q.name === name);

  it("GET shows every declared quota with its default, limit and the tenant's usage", async () => {
    const res = await t.http().get(`/admin/quotas/${tenant.tenantId}`).set(asOperator());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.tenant_id).toBe(tenant.tenantId);
    expect(res.body.quotas.map((q: { name: string }) => q.name)).toEqual(
      expect.arrayContaining(['instances', 'vcpus', 'memory_mb', 'volumes']),
    );
    expect(quotaOf(res.body, 'volumes')).toEqual({
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
    expect((await createVolume('first')).status).toBe(201);
    const before = await countEvents(t, IGNORED);
    const refused = await createVolume('second');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: 'quota_exceeded',
      message: 'quota exceeded for volumes: limit 1, in use 1, requested 1',
      details: { quota: 'volumes', limit: 1, current: 1, requested: 1 },
    });
    expect(await countEvents(t, IGNORED)).toBe(before);
  });

  it('only operators read or override quotas; bad overrides are 400; unknown tenants 404', async () => {
    const before = await countEvents(t, IGNORED);
    expect((await t.http().get(`/admin/quotas/${tenant.tenantId}`).set(asTenant())).status).toBe(
      403,
    );
    const denied = await t
      .http()
      .put(`/admin/quotas/${tenant.tenantId}`)
      .set(asTenant())
      .send({ volumes: 100 });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('forbidden');
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
        .set(asOperator())
        .send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const got = await t.http().get(`/admin/quotas/${id}`).set(asOperator());
      expect(got.status).toBe(404);
      const put = await t.http().put(`/admin/quotas/${id}`).set(asOperator()).send({ volumes: 2 });
      expect(put.status).toBe(404);
    }
    expect(await countEvents(t, IGNORED)).toBe(before);
  });

  it('an operator raises the limit for this tenant (an audited event), then restores the default', async () => {
    const raised = await t
      .http()
      .put(`/admin/quotas/${tenant.tenantId}`)
      .set(asOperator())
      .send({ volumes: 2 });
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    expect(quotaOf(raised.body, 'volumes')).toMatchObject({
      limit: 2,
      default_limit: 1,
      overridden: true,
      usage: 1,
    });
    const [event] = await eventsOfType(t, 'QuotaLimitsOverridden');
    expect(event.stream_id).toBe(`quota-${tenant.tenantId}`);
    expect(event.data).toMatchObject({ changes: { volumes: 2 }, overrides: { volumes: 2 } });

    // Another tenant keeps the default.
    const other = await signUp(t, 'quota-other');
    expect(
      (
        await t
          .http()
          .post('/volumes')
          .set(bearer(other.accessToken))
          .send({ name: 'o', size_gb: 1 })
      ).status,
    ).toBe(201);
    expect(
      (
        await t
          .http()
          .post('/volumes')
          .set(bearer(other.accessToken))
          .send({ name: 'o2', size_gb: 1 })
      ).status,
    ).toBe(403);

    expect((await createVolume('second')).status).toBe(201);
    expect((await createVolume('third')).status).toBe(403);

    // The tenant's audit log shows the operator's change.
    let actions: string[] = [];
    for (let i = 0; i < 200 && !actions.includes('QUOTA_OVERRIDE'); i++) {
      const audit = await t.http().get('/audit?action=QUOTA_OVERRIDE').set(asTenant());
      expect(audit.status, JSON.stringify(audit.body)).toBe(200);
      actions = (audit.body as Array<{ action: string }>).map((r) => r.action);
      if (!actions.includes('QUOTA_OVERRIDE')) await new Promise((r) => setTimeout(r, 50));
    }
    expect(actions).toContain('QUOTA_OVERRIDE');

    // Back to the default: nothing is taken away, the next create is refused.
    const restored = await t
      .http()
      .put(`/admin/quotas/${tenant.tenantId}`)
      .set(asOperator())
      .send({ volumes: null });
    expect(restored.status).toBe(200);
    expect(quotaOf(restored.body, 'volumes')).toMatchObject({
      limit: 1,
      overridden: false,
      usage: 2,
    });
    const refused = await createVolume('fourth');
    expect(refused.status).toBe(403);
    expect(refused.body.error.details).toMatchObject({ limit: 1, current: 2 });
  });
});
