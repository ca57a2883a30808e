import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usersProjection } from '../../../projections/identity/users.projection';
import { loadConfig } from '../../../src/config/config';
import {
  encryptPersonalField,
  revealPersonalField,
  type MasterKeyring,
} from '../../../src/identity/crypto/personal-data';
import { DataKeyStore } from '../../../src/identity/keys/data-key-store';
import { loadServerKeys, masterKeyId } from '../../../src/identity/keys/server-keys';
import { createTestDatabase, type TestDatabase } from '../../support/pg';

describe('server keys', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'nimbus-keys-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('generates each key once, 0600 in <data dir>/keys, and reads the same keys on the next start', () => {
    const dir = dataDir();
    const config = { ...loadConfig({}), dataDir: dir };
    const first = loadServerKeys(config);
    expect(first.sources).toEqual({ jwt: 'generated', master: 'generated', pepper: 'generated' });
    for (const name of ['jwt-hs256', 'master', 'pepper']) {
      const path = join(dir, 'keys', `${name}.key`);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(statSync(join(dir, 'keys')).mode & 0o777).toBe(0o700);
    const second = loadServerKeys(config);
    expect(second.sources).toEqual({ jwt: 'file', master: 'file', pepper: 'file' });
    expect(Buffer.from(second.jwtSecret)).toEqual(Buffer.from(first.jwtSecret));
    expect(second.masterKeyring.current).toEqual(first.masterKeyring.current);
    expect(second.emailLookupPepper).toEqual(first.emailLookupPepper);
  });

  it('prefers configured keys and writes nothing for them', () => {
    const dir = dataDir();
    const master = randomBytes(32);
    const config = loadConfig({
      NIMBUS_DATA_DIR: dir,
      NIMBUS_MASTER_KEY: master.toString('base64'),
      NIMBUS_JWT_SECRET: randomBytes(48).toString('hex'),
      NIMBUS_API_KEY_PEPPER: randomBytes(32).toString('hex'),
    });
    const keys = loadServerKeys(config);
    expect(keys.sources).toEqual({ jwt: 'configured', master: 'configured', pepper: 'configured' });
    expect(keys.masterKeyring.current).toEqual({ id: masterKeyId(master), key: master });
  });
});

describe('DataKeyStore (PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  const ring: MasterKeyring = { current: { id: 'mk-a', key: randomBytes(32) } };

  beforeAll(async () => {
    db = await createTestDatabase('identity_keys');
    pool = new Pool({ connectionString: db.url, max: 4 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('creates one key per user even under concurrent requests, stores it only wrapped', async () => {
    const store = new DataKeyStore(pool, ring);
    await store.init();
    const userId = randomUUID();
    const keys = await Promise.all([
      store.getOrCreate(userId),
      new DataKeyStore(pool, ring).getOrCreate(userId),
    ]);
    expect(keys[0]).toEqual(keys[1]);
    const { rows } = await pool.query<{ wrapped_key: string }>(
      'SELECT wrapped_key FROM identity_data_keys WHERE user_id = $1',
      [userId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].wrapped_key).toMatch(/^dk1\.mk-a\./);
    expect(rows[0].wrapped_key).not.toContain(keys[0].toString('base64url'));
  });

  it('rewraps keys made under an older master key', async () => {
    const userId = randomUUID();
    const key = await new DataKeyStore(pool, ring).getOrCreate(userId);
    const rotated: MasterKeyring = {
      current: { id: 'mk-b', key: randomBytes(32) },
      previous: [ring.current],
    };
    expect(await new DataKeyStore(pool, rotated).get(userId)).toEqual(key);
    const { rows } = await pool.query<{ wrapped_key: string }>(
      'SELECT wrapped_key FROM identity_data_keys WHERE user_id = $1',
      [userId],
    );
    expect(rows[0].wrapped_key).toMatch(/^dk1\.mk-b\./);
  });

  it('crypto-shredding: a destroyed key reads as [erased]; interrupted erasures are finished', async () => {
    const store = new DataKeyStore(pool, ring);
    const userId = randomUUID();
    const key = await store.getOrCreate(userId);
    const email = encryptPersonalField(key, 'person@example.com', {
      subjectId: userId,
      field: 'email',
    });
    await store.destroy(userId);
    expect(await store.get(userId)).toBeNull();
    expect(
      revealPersonalField(await store.get(userId), email, { subjectId: userId, field: 'email' }),
    ).toBe('[erased]');

    // UserErased projected, key row still there (crash between the two steps).
    const manager = {
      query: (sql: string, params?: unknown[]) => pool.query(sql, params).then((r) => r.rows),
    };
    await usersProjection.setup(manager as unknown as EntityManager);
    const erased = randomUUID();
    await store.getOrCreate(erased);
    await pool.query(
      `INSERT INTO identity_users (id, status, registered_at, revision) VALUES ($1, 'erased', now(), 3)`,
      [erased],
    );
    expect(await store.destroyKeysOfErasedUsers()).toBe(1);
    expect(await store.get(erased)).toBeNull();
  });
});
