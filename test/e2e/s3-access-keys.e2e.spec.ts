/**
 * S3 access keys through the generated SDK on the real app and PostgreSQL: the secret is shown
 * once and stored sealed (never in clear in the log or the read model), listing shows no secret,
 * another tenant's key is 404, deletion is audited.
 */
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNimbusClient, unwrap, type NimbusClient } from '../../src/sdk/client';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';

describe('S3 access keys (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let aliceSdk: NimbusClient;
  let bobSdk: NimbusClient;

  beforeAll(async () => {
    t = await startTestApp({ label: 's3keys' });
    alice = await signUp(t, 's3keys-alice');
    bob = await signUp(t, 's3keys-bob');
    aliceSdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: alice.apiKey });
    bobSdk = createNimbusClient({ endpoint: t.baseUrl, apiKey: bob.apiKey });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('creates a key (secret once), lists without secrets, deletes; all audited', async () => {
    const created = unwrap(await aliceSdk.POST('/storage/access-keys'));
    expect(created.access_key_id).toMatch(/^NIMB[A-Z2-7]{16}$/);
    expect(created.secret_access_key).toHaveLength(40);
    expect(created.user_id).toBe(alice.userId);

    const listed = unwrap(await aliceSdk.GET('/storage/access-keys'));
    const items = Array.isArray(listed) ? listed : listed.items;
    expect(items.map((k) => k.id)).toContain(created.id);
    expect(JSON.stringify(listed)).not.toContain(created.secret_access_key);

    // The secret is nowhere in clear: not in the log, not in the read model.
    const db = new Client({ connectionString: t.database.url });
    await db.connect();
    try {
      const events = await db.query(
        "SELECT data::text AS d FROM events WHERE data::text LIKE '%' || $1 || '%'",
        [created.secret_access_key],
      );
      expect(events.rows).toEqual([]);
      const rows = await db.query('SELECT sealed_secret FROM storage_access_keys WHERE id = $1', [
        created.id,
      ]);
      expect(rows.rows[0].sealed_secret).toMatch(/^s3k1\./);
    } finally {
      await db.end();
    }

    // Another tenant cannot see or delete it, and its refusal appends nothing.
    const before = await countEvents(t, ['AccessDenied']);
    const foreign = await bobSdk.DELETE('/storage/access-keys/{id}', {
      params: { path: { id: created.id } },
    });
    expect(foreign.response.status).toBe(404);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    const bobs = unwrap(await bobSdk.GET('/storage/access-keys'));
    expect(JSON.stringify(bobs)).not.toContain(created.id);

    unwrap(
      await aliceSdk.DELETE('/storage/access-keys/{id}', { params: { path: { id: created.id } } }),
    );
    const again = await aliceSdk.DELETE('/storage/access-keys/{id}', {
      params: { path: { id: created.id } },
    });
    expect(again.response.status).toBe(404);
    const after = unwrap(await aliceSdk.GET('/storage/access-keys'));
    expect(JSON.stringify(after)).not.toContain(created.id);

    const deadline = Date.now() + 20_000;
    let actions: string[] = [];
    while (Date.now() < deadline) {
      const res = await conformingHttp(t)
        .get('/audit?limit=200')
        .set('x-api-key', alice.apiKey)
        .expect(200);
      actions = (res.body as Array<{ action: string }>).map((r) => r.action);
      if (actions.includes('S3_ACCESS_KEY_DELETE')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(actions).toEqual(
      expect.arrayContaining(['S3_ACCESS_KEY_CREATE', 'S3_ACCESS_KEY_DELETE']),
    );
  });
});
