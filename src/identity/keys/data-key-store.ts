/**
 * Wrapped per-user data keys (write side, table `identity_data_keys`; not a projection: it cannot
 * be rebuilt from the log, which only ever holds ciphertext).
 *
 * Erasure order: append UserErased first, then `destroy` the key row. A crash between the two
 * leaves an erased user with a key; `destroyKeysOfErasedUsers` (run at start-up) finishes the job
 * from the users read model.
 */
import type { Pool } from 'pg';
import {
  generateDataKey,
  needsRewrap,
  unwrapDataKey,
  wrapDataKey,
  type MasterKeyring,
} from '../crypto/personal-data';

export class DataKeyStore {
  /** Unwrapped keys of recently seen users; dropped on destroy. Bounded. */
  private readonly cache = new Map<string, Buffer>();
  private static readonly CACHE_LIMIT = 10_000;

  constructor(
    private readonly pool: Pool,
    private readonly ring: MasterKeyring,
  ) {}

  async init(): Promise<void> {
    await this.pool.query(`CREATE TABLE IF NOT EXISTS identity_data_keys (
      user_id uuid PRIMARY KEY,
      wrapped_key text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  /** The user's data key, created and stored (wrapped) when it does not exist yet. */
  async getOrCreate(userId: string): Promise<Buffer> {
    const existing = await this.get(userId);
    if (existing) return existing;
    const key = generateDataKey();
    await this.pool.query(
      'INSERT INTO identity_data_keys (user_id, wrapped_key) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING',
      [userId, wrapDataKey(this.ring, userId, key)],
    );
    // Another request may have won the insert: the stored key is the one that counts.
    const stored = await this.get(userId, true);
    if (!stored) throw new Error(`data key of user ${userId} vanished while being created`);
    return stored;
  }

  /** The user's data key, or null when it was destroyed (the user is erased) or never made. */
  async get(userId: string, bypassCache = false): Promise<Buffer | null> {
    if (!bypassCache) {
      const cached = this.cache.get(userId);
      if (cached) return cached;
    }
    const { rows } = await this.pool.query<{ wrapped_key: string }>(
      'SELECT wrapped_key FROM identity_data_keys WHERE user_id = $1',
      [userId],
    );
    if (rows.length === 0) return null;
    const wrapped = rows[0].wrapped_key;
    const key = unwrapDataKey(this.ring, userId, wrapped);
    if (needsRewrap(this.ring, wrapped)) {
      await this.pool.query('UPDATE identity_data_keys SET wrapped_key = $2 WHERE user_id = $1', [
        userId,
        wrapDataKey(this.ring, userId, key),
      ]);
    }
    if (this.cache.size >= DataKeyStore.CACHE_LIMIT) this.cache.clear();
    this.cache.set(userId, key);
    return key;
  }

  /** Keys of many users at once (list endpoints); missing users map to null. */
  async getMany(userIds: readonly string[]): Promise<Map<string, Buffer | null>> {
    const out = new Map<string, Buffer | null>();
    for (const id of new Set(userIds)) out.set(id, await this.get(id));
    return out;
  }

  /** Crypto-shredding: the user's personal data becomes unreadable everywhere. */
  async destroy(userId: string): Promise<void> {
    this.cache.delete(userId);
    await this.pool.query('DELETE FROM identity_data_keys WHERE user_id = $1', [userId]);
  }

  /** Finishes erasures interrupted between UserErased and the key deletion. */
  async destroyKeysOfErasedUsers(): Promise<number> {
    const exists = await this.pool.query<{ t: string | null }>(
      "SELECT to_regclass('identity_users')::text AS t",
    );
    if (!exists.rows[0]?.t) return 0;
    const { rowCount } = await this.pool.query(
      `DELETE FROM identity_data_keys k USING identity_users u
        WHERE u.id = k.user_id AND u.status = 'erased'`,
    );
    this.cache.clear();
    return rowCount ?? 0;
  }
}
