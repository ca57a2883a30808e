/**
 * Smaller edges of the API found by an outside review: list filters with unknown values, IAM
 * actions that do not exist, control characters in webhook URLs, paging of /reports, and what a
 * tenant-bound API key is told about another tenant. Each refusal appends no event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, countEvents, signUp, type Account } from './identity.helpers';

describe('API edges (e2e)', () => {
  let t: TestApp;
  let a: Account;

  beforeAll(async () => {
    t = await startTestApp({
      label: 'apiedges',
      config: { authRateLimitPerMinute: 100_000, webhooksAllowPrivateTargets: true },
    });
    a = await signUp(t, 'api-edges');
  });
  afterAll(async () => {
    await t?.close();
  });

  const fieldsOf = (body: { error?: { details?: { fields?: Array<{ path: string }> } } }) =>
    (body.error?.details?.fields ?? []).map((f) => f.path);

  it('a list filter with an unknown value is 400 naming the allowed values', async () => {
    for (const status of ['running', 'BOGUS']) {
      const res = await t.http().get(`/instances?status=${status}`).set(bearer(a.accessToken));
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(fieldsOf(res.body)).toEqual(['status']);
      expect(res.body.error.message).toContain('RUNNING');
    }
    const ok = await t.http().get('/instances?status=RUNNING').set(bearer(a.accessToken));
    expect(ok.status).toBe(200);
    const reports = await t.http().get('/reports?format=PDF').set(bearer(a.accessToken));
    expect(reports.status).toBe(400);
    expect(reports.body.error.message).toContain('json, csv, pdf');
  });

  it('a policy naming an action the API does not have is 400 naming it; wildcards are fine', async () => {
    const before = await countEvents(t, ['AccessDenied']);
    let n = 0;
    const policy = (action: string[]) =>
      t
        .http()
        .post('/iam/policies')
        .set(bearer(a.accessToken))
        .send({ name: `P${++n}`, statements: [{ effect: 'Allow', action, resource: ['*'] }] });
    for (const action of [['nosuch:action'], ['compute:list', 'compute:lauch'], ['queue:*']]) {
      const res = await policy(action);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.message).toContain(action[action.length - 1]);
      expect(fieldsOf(res.body)).toEqual(['statements']);
    }
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    for (const action of [['*'], ['compute:*'], ['*:list'], ['compute:list'], ['storage:*']]) {
      const res = await policy(action);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });

  it('a webhook URL with CR, LF, a tab or a space is 400, not rewritten', async () => {
    const before = await countEvents(t, ['AccessDenied']);
    for (const url of [
      'http://127.0.0.1:9/hook\r\nX-Injected: 1',
      'http://127.0.0.1:9/ho\nok',
      'http://127.0.0.1:9/ho\tok',
      'http://127.0.0.1:9/a b',
      'http://127.0.0.1:9/\u0085',
    ]) {
      const res = await t
        .http()
        .post('/webhooks')
        .set(bearer(a.accessToken))
        .send({ url, events: ['*'] });
      expect(res.status, `${JSON.stringify(url)}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(fieldsOf(res.body)).toEqual(['url']);
    }
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });

  it('/reports pages with envelope=true and cursors like every list', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await t
        .http()
        .post('/reports/generate')
        .set(bearer(a.accessToken))
        .send({ type: 'audit', format: 'json' });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    }
    const bare = await t.http().get('/reports').set(bearer(a.accessToken));
    expect(bare.status).toBe(200);
    expect(Array.isArray(bare.body)).toBe(true);
    const first = await t.http().get('/reports?envelope=true&limit=2').set(bearer(a.accessToken));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.page.has_more).toBe(true);
    const second = await t
      .http()
      .get(`/reports?limit=2&cursor=${first.body.page.next_cursor}`)
      .set(bearer(a.accessToken));
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.page.has_more).toBe(false);
    const ids = [...first.body.items, ...second.body.items].map((r: { id: string }) => r.id);
    expect(new Set(ids).size).toBe(3);
    const forged = await t
      .http()
      .get(`/reports?cursor=${Buffer.from('["x","y"]').toString('base64url')}`)
      .set(bearer(a.accessToken));
    expect(forged.status).toBe(400);
    expect(fieldsOf(forged.body)).toEqual(['cursor']);
  });

  it('an API key asked for another tenant says it is bound to its own (still 404)', async () => {
    const created = await t
      .http()
      .post('/tenants')
      .set(bearer(a.accessToken))
      .send({ name: 'Second Tenant', slug: `second-${Date.now()}` });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const other = created.body.id as string;
    const res = await t
      .http()
      .get('/instances')
      .set('x-api-key', a.apiKey)
      .set('x-tenant-id', other);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(res.body.error.message).toContain(`bound to tenant ${a.tenantId}`);
  });

  it('detaching a volume that is not attached is 409 invalid_state and appends nothing', async () => {
    const created = await t
      .http()
      .post('/volumes')
      .set(bearer(a.accessToken))
      .send({ name: 'loose-volume', size_gb: 1 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const before = await countEvents(t, ['AccessDenied']);
    const res = await t
      .http()
      .post(`/volumes/${created.body.id}/detach`)
      .set(bearer(a.accessToken));
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body.error.code).toBe('invalid_state');
    expect(res.body.error.message).toContain('not attached');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });
});
