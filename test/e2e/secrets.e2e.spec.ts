/**
 * The secrets store over HTTP through the generated SDK: create, list (metadata only), get, the
 * value only through GET /secrets/{id}/value (secrets:read: an IAM policy denying it gives 403),
 * rotate, delete; tenant walls; bad input appends nothing; no event and no read-model row holds
 * a value in plaintext.
 */
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createNimbusClient,
  itemsOf,
  NimbusApiError,
  unwrap,
  type NimbusClient,
} from '../../src/sdk/client';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';

const VALUE = 'plain-value-4f9c2e7d-never-stored';
const ROTATED = 'rotated-value-81b3a6c0-never-stored';

describe('secrets (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let sdk: NimbusClient;
  let bobSdk: NimbusClient;

  beforeAll(async () => {
    t = await startTestApp({ label: 'secrets' });
    alice = await signUp(t, 'secrets-alice');
    bob = await signUp(t, 'secrets-bob');
    sdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    bobSdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: bob.apiKey });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  async function rowsHolding(text: string): Promise<number> {
    const client = new Client({ connectionString: t.database.url });
    await client.connect();
    try {
      const events = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM events WHERE data::text LIKE '%' || $1 || '%' OR metadata::text LIKE '%' || $1 || '%'`,
        [text],
      );
      const models = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM secrets_secrets WHERE state::text LIKE '%' || $1 || '%'`,
        [text],
      );
      return Number(events.rows[0].n) + Number(models.rows[0].n);
    } finally {
      await client.end();
    }
  }

  it('creates, lists and describes without the value; reads it with secrets:read; rotates; deletes', async () => {
    const created = unwrap(
      await sdk.POST('/secrets', {
        body: { name: 'payments/api-key', value: VALUE, description: 'psp' },
      }),
    );
    expect(created).toMatchObject({
      name: 'payments/api-key',
      description: 'psp',
      version: 1,
      managed_by: null,
    });
    expect(JSON.stringify(created)).not.toContain(VALUE);

    const listed = itemsOf(unwrap(await sdk.GET('/secrets')));
    expect(listed.map((s) => s.name)).toEqual(['payments/api-key']);
    expect(JSON.stringify(listed)).not.toContain(VALUE);

    const got = unwrap(await sdk.GET('/secrets/{id}', { params: { path: { id: created.id } } }));
    expect(JSON.stringify(got)).not.toContain(VALUE);

    const value = unwrap(
      await sdk.GET('/secrets/{id}/value', { params: { path: { id: created.id } } }),
    );
    expect(value).toEqual({ id: created.id, name: 'payments/api-key', version: 1, value: VALUE });

    const rotated = unwrap(
      await sdk.POST('/secrets/{id}/rotate', {
        params: { path: { id: created.id } },
        body: { value: ROTATED },
      }),
    );
    expect(rotated.version).toBe(2);
    const after = unwrap(
      await sdk.GET('/secrets/{id}/value', { params: { path: { id: created.id } } }),
    );
    expect(after).toMatchObject({ version: 2, value: ROTATED });

    expect(await rowsHolding(VALUE)).toBe(0);
    expect(await rowsHolding(ROTATED)).toBe(0);

    unwrap(await sdk.DELETE('/secrets/{id}', { params: { path: { id: created.id } } }));
    const gone = await sdk.GET('/secrets/{id}/value', { params: { path: { id: created.id } } });
    expect(() => unwrap(gone)).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(itemsOf(unwrap(await sdk.GET('/secrets')))).toEqual([]);
  });

  it('is a wall between tenants: another tenant sees 404 and its own names are its own', async () => {
    const mine = unwrap(
      await sdk.POST('/secrets', { body: { name: 'shared-name', value: VALUE } }),
    );
    for (const call of [
      bobSdk.GET('/secrets/{id}', { params: { path: { id: mine.id } } }),
      bobSdk.GET('/secrets/{id}/value', { params: { path: { id: mine.id } } }),
      bobSdk.DELETE('/secrets/{id}', { params: { path: { id: mine.id } } }),
    ]) {
      expect(() => unwrap(call as never)).toThrow();
      const res = await call;
      expect(res.response.status).toBe(404);
    }
    const theirs = unwrap(
      await bobSdk.POST('/secrets', { body: { name: 'shared-name', value: ROTATED } }),
    );
    expect(theirs.id).not.toBe(mine.id);
    expect(itemsOf(unwrap(await bobSdk.GET('/secrets'))).map((s) => s.id)).toEqual([theirs.id]);
  });

  it('rejects bad input with a stable code and appends nothing', async () => {
    unwrap(await sdk.POST('/secrets', { body: { name: 'taken', value: 'x' } }));
    const before = await countEvents(t, ['AccessDenied']);
    const cases: Array<[object, string, number]> = [
      [{ name: 'taken', value: 'y' }, 'conflict', 409],
      [{ name: '../escape', value: 'y' }, 'validation_error', 400],
      [{ name: 'ok-name', value: '' }, 'validation_error', 400],
      [{ name: 'ok-name', value: 'x'.repeat(64 * 1024 + 1) }, 'validation_error', 400],
      [{ name: 'ok-name' }, 'validation_error', 400],
    ];
    for (const [body, code, status] of cases) {
      const res = await conformingHttp(t)
        .post('/secrets')
        .set('x-api-key', alice.apiKey)
        .send(body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });

  it('shows the value only to callers allowed secrets:read', async () => {
    const created = unwrap(await sdk.POST('/secrets', { body: { name: 'guarded', value: VALUE } }));
    const policy = await t
      .http()
      .post('/iam/policies')
      .set('x-api-key', alice.apiKey)
      .send({
        name: 'no-secret-values',
        statements: [{ effect: 'Deny', action: ['secrets:read'], resource: ['*'] }],
      });
    if (policy.status !== 201) {
      throw new Error(`policy creation answered ${policy.status}: ${JSON.stringify(policy.body)}`);
    }
    const attached = await t
      .http()
      .post(`/iam/users/${alice.userId}/policies/${policy.body.id}`)
      .set('x-api-key', alice.apiKey);
    expect(attached.status, JSON.stringify(attached.body)).toBeLessThan(300);
    const denied = await sdk.GET('/secrets/{id}/value', { params: { path: { id: created.id } } });
    expect(denied.response.status).toBe(403);
    expect(() => unwrap(denied)).toThrow(NimbusApiError);
    // Metadata stays readable.
    unwrap(await sdk.GET('/secrets/{id}', { params: { path: { id: created.id } } }));
  });
});
