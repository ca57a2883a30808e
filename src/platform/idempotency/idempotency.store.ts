import type { Pool } from 'pg';

export type IdempotencyOutcome =
  | { kind: 'started' }
  | { kind: 'replay'; status: number; headers: Record<string, string>; body: StoredBody }
  | { kind: 'in_progress' }
  | { kind: 'mismatch' };

/** `{}` when the handler returned nothing, `{value}` otherwise (so null and absent differ). */
export interface StoredBody {
  value?: unknown;
}

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: StoredBody;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope            text        NOT NULL,
  key              text        NOT NULL,
  request_hash     text        NOT NULL,
  state            text        NOT NULL CHECK (state IN ('in_progress', 'completed')),
  status_code      integer,
  response_headers jsonb,
  response_body    jsonb,
  started_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  expires_at       timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expires_at ON idempotency_keys (expires_at);
`;

interface KeyRow {
  request_hash: string;
  state: 'in_progress' | 'completed';
  status_code: number | null;
  response_headers: Record<string, string> | null;
  response_body: StoredBody | null;
}

/**
 * Remembers POST responses by (scope, Idempotency-Key) in PostgreSQL. The first request inserts
 * an `in_progress` row; its response completes the row; a failure deletes it so that a retry runs.
 */
export class IdempotencyStore {
  constructor(
    private readonly pool: Pool,
    private readonly ttlHours: number,
    /** A request that has run this long without finishing is taken to have died with its process. */
    private readonly abandonedAfterSeconds = 60,
  ) {}

  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('nimbus.idempotency_keys'))`);
      await client.query(SCHEMA);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async begin(scope: string, key: string, requestHash: string): Promise<IdempotencyOutcome> {
    for (;;) {
      const inserted = await this.pool.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, state, expires_at)
         VALUES ($1, $2, $3, 'in_progress', now() + make_interval(hours => $4))
         ON CONFLICT (scope, key) DO NOTHING`,
        [scope, key, requestHash, this.ttlHours],
      );
      if (inserted.rowCount === 1) return { kind: 'started' };

      // An expired key is forgotten; an abandoned run of the same request is taken over.
      const reclaimed = await this.pool.query(
        `UPDATE idempotency_keys
            SET request_hash = $3, state = 'in_progress', started_at = now(), completed_at = NULL,
                status_code = NULL, response_headers = NULL, response_body = NULL,
                expires_at = now() + make_interval(hours => $4)
          WHERE scope = $1 AND key = $2
            AND (expires_at <= now()
                 OR (state = 'in_progress' AND request_hash = $3
                     AND started_at < now() - make_interval(secs => $5)))`,
        [scope, key, requestHash, this.ttlHours, this.abandonedAfterSeconds],
      );
      if (reclaimed.rowCount === 1) return { kind: 'started' };

      const found = await this.pool.query<KeyRow>(
        `SELECT request_hash, state, status_code, response_headers, response_body
           FROM idempotency_keys WHERE scope = $1 AND key = $2`,
        [scope, key],
      );
      const row = found.rows[0];
      if (!row) continue; // released between our statements: try again
      if (row.request_hash !== requestHash) return { kind: 'mismatch' };
      if (row.state === 'in_progress') return { kind: 'in_progress' };
      return {
        kind: 'replay',
        status: row.status_code ?? 200,
        headers: row.response_headers ?? {},
        body: row.response_body ?? {},
      };
    }
  }

  async complete(scope: string, key: string, response: StoredResponse): Promise<void> {
    await this.pool.query(
      `UPDATE idempotency_keys
          SET state = 'completed', status_code = $3, response_headers = $4, response_body = $5,
              completed_at = now()
        WHERE scope = $1 AND key = $2`,
      [
        scope,
        key,
        response.status,
        JSON.stringify(response.headers),
        JSON.stringify(response.body),
      ],
    );
  }

  /** Forgets a key whose request failed, so that the client may retry it. */
  async release(scope: string, key: string): Promise<void> {
    await this.pool.query(
      `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_progress'`,
      [scope, key],
    );
  }

  async deleteExpired(): Promise<number> {
    const result = await this.pool.query(`DELETE FROM idempotency_keys WHERE expires_at <= now()`);
    return result.rowCount ?? 0;
  }
}
