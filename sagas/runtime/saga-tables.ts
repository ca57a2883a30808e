import type { Pool } from 'pg';
import type { Position } from '../../src/kernel/position';
import type { DesiredTimer, SagaTimerKind } from './saga-decider';
import type { SagaStatus } from './saga-state';

/**
 * The runtime's PostgreSQL tables. The saga streams are the source of truth; these tables only
 * make the runtime's work findable without scanning the event log:
 *  - saga_instances: every instance ever begun and its last known status, written before the
 *    instance's first event, so a restart finds every unfinished instance;
 *  - saga_timers: persisted wake-ups (retry due, attempt deadline) the scheduler fires;
 *  - saga_checkpoints: where each saga's `$all` subscription is, advanced only after the inputs
 *    before it were recorded in their saga streams.
 */
export const SAGA_SCHEMA = `
CREATE TABLE IF NOT EXISTS saga_instances (
  saga        text        NOT NULL,
  instance_id text        NOT NULL,
  status      text        NOT NULL DEFAULT 'pending',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (saga, instance_id)
);
CREATE INDEX IF NOT EXISTS saga_instances_unfinished_idx ON saga_instances (saga)
  WHERE status NOT IN ('completed', 'compensated', 'failed');
CREATE TABLE IF NOT EXISTS saga_timers (
  saga        text        NOT NULL,
  instance_id text        NOT NULL,
  timer_key   text        NOT NULL,
  kind        text        NOT NULL,
  due_at      timestamptz NOT NULL,
  payload     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (saga, instance_id, timer_key)
);
CREATE INDEX IF NOT EXISTS saga_timers_due_idx ON saga_timers (due_at);
CREATE TABLE IF NOT EXISTS saga_checkpoints (
  saga             text        PRIMARY KEY,
  commit_position  numeric(20) NOT NULL,
  prepare_position numeric(20) NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
`;

/** Status in saga_instances: `pending` until the instance's first event is recorded. */
export type IndexedStatus = SagaStatus | 'pending';

export interface TimerRow {
  saga: string;
  instanceId: string;
  key: string;
  kind: SagaTimerKind | 'recover';
  dueAt: Date;
}

export class SagaTables {
  constructor(private readonly pool: Pool) {}

  async ensureSchema(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['nimbus:sagas:schema']);
      await client.query(SAGA_SCHEMA);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Idempotent; must happen before the instance's first event. */
  async registerInstance(saga: string, instanceId: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO saga_instances (saga, instance_id) VALUES ($1, $2)
       ON CONFLICT (saga, instance_id) DO NOTHING`,
      [saga, instanceId],
    );
  }

  async setStatus(saga: string, instanceId: string, status: IndexedStatus): Promise<void> {
    await this.pool.query(
      `INSERT INTO saga_instances (saga, instance_id, status) VALUES ($1, $2, $3)
       ON CONFLICT (saga, instance_id) DO UPDATE SET status = excluded.status, updated_at = now()
       WHERE saga_instances.status IS DISTINCT FROM excluded.status`,
      [saga, instanceId, status],
    );
  }

  async unfinishedInstances(
    sagas: readonly string[],
  ): Promise<Array<{ saga: string; instanceId: string }>> {
    const res = await this.pool.query<{ saga: string; instance_id: string }>(
      `SELECT saga, instance_id FROM saga_instances
        WHERE saga = ANY($1::text[]) AND status NOT IN ('completed', 'compensated', 'failed')
        ORDER BY created_at`,
      [sagas],
    );
    return res.rows.map((r) => ({ saga: r.saga, instanceId: r.instance_id }));
  }

  async statusOf(saga: string, instanceId: string): Promise<IndexedStatus | null> {
    const res = await this.pool.query<{ status: IndexedStatus }>(
      'SELECT status FROM saga_instances WHERE saga = $1 AND instance_id = $2',
      [saga, instanceId],
    );
    return res.rows[0]?.status ?? null;
  }

  async upsertTimers(
    saga: string,
    instanceId: string,
    timers: readonly DesiredTimer[],
  ): Promise<void> {
    if (timers.length === 0) return;
    await this.pool.query(
      `INSERT INTO saga_timers (saga, instance_id, timer_key, kind, due_at, payload)
       SELECT $1, $2, t.key, t.kind, t.due_at, t.payload
         FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::jsonb[]) AS t(key, kind, due_at, payload)
       ON CONFLICT (saga, instance_id, timer_key)
       DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, payload = excluded.payload`,
      [
        saga,
        instanceId,
        timers.map((t) => t.key),
        timers.map((t) => t.kind),
        timers.map((t) => t.dueAt),
        timers.map((t) => JSON.stringify(t.payload)),
      ],
    );
  }

  /** Deletes the instance's timers except those named. */
  async deleteTimersExcept(
    saga: string,
    instanceId: string,
    keep: readonly string[],
  ): Promise<void> {
    await this.pool.query(
      `DELETE FROM saga_timers
        WHERE saga = $1 AND instance_id = $2 AND NOT (timer_key = ANY($3::text[]))`,
      [saga, instanceId, keep],
    );
  }

  /** A wake-up for an instance whose driving failed (database hiccup): try again later. */
  async scheduleRecovery(saga: string, instanceId: string, dueAt: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO saga_timers (saga, instance_id, timer_key, kind, due_at)
       VALUES ($1, $2, 'recover', 'recover', $3)
       ON CONFLICT (saga, instance_id, timer_key) DO UPDATE SET due_at = excluded.due_at`,
      [saga, instanceId, dueAt],
    );
  }

  async dueTimers(sagas: readonly string[], now: Date, limit: number): Promise<TimerRow[]> {
    const res = await this.pool.query<{
      saga: string;
      instance_id: string;
      timer_key: string;
      kind: TimerRow['kind'];
      due_at: Date;
    }>(
      `SELECT saga, instance_id, timer_key, kind, due_at FROM saga_timers
        WHERE saga = ANY($1::text[]) AND due_at <= $2
        ORDER BY due_at LIMIT $3`,
      [sagas, now, limit],
    );
    return res.rows.map((r) => ({
      saga: r.saga,
      instanceId: r.instance_id,
      key: r.timer_key,
      kind: r.kind,
      dueAt: r.due_at,
    }));
  }

  async timersOf(saga: string, instanceId: string): Promise<TimerRow[]> {
    const res = await this.pool.query<{
      saga: string;
      instance_id: string;
      timer_key: string;
      kind: TimerRow['kind'];
      due_at: Date;
    }>(
      `SELECT saga, instance_id, timer_key, kind, due_at FROM saga_timers
        WHERE saga = $1 AND instance_id = $2 ORDER BY due_at`,
      [saga, instanceId],
    );
    return res.rows.map((r) => ({
      saga: r.saga,
      instanceId: r.instance_id,
      key: r.timer_key,
      kind: r.kind,
      dueAt: r.due_at,
    }));
  }

  /** Pushes back the instance's timers that are still due (its driver is elsewhere or failed). */
  async postponeDue(saga: string, instanceId: string, now: Date, until: Date): Promise<void> {
    await this.pool.query(
      `UPDATE saga_timers SET due_at = $4
        WHERE saga = $1 AND instance_id = $2 AND due_at <= $3`,
      [saga, instanceId, now, until],
    );
  }

  async nextDueAt(sagas: readonly string[]): Promise<Date | null> {
    const res = await this.pool.query<{ due_at: Date | null }>(
      'SELECT min(due_at) AS due_at FROM saga_timers WHERE saga = ANY($1::text[])',
      [sagas],
    );
    return res.rows[0]?.due_at ?? null;
  }

  async loadCheckpoint(saga: string): Promise<Position | null> {
    const res = await this.pool.query<{ commit_position: string; prepare_position: string }>(
      'SELECT commit_position, prepare_position FROM saga_checkpoints WHERE saga = $1',
      [saga],
    );
    const row = res.rows[0];
    return row
      ? { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) }
      : null;
  }

  /** Moves the checkpoint forward only: two processes consuming the same saga never move it back. */
  async saveCheckpoint(saga: string, position: Position): Promise<void> {
    await this.pool.query(
      `INSERT INTO saga_checkpoints (saga, commit_position, prepare_position) VALUES ($1, $2, $3)
       ON CONFLICT (saga) DO UPDATE
         SET commit_position = excluded.commit_position,
             prepare_position = excluded.prepare_position, updated_at = now()
       WHERE (saga_checkpoints.commit_position, saga_checkpoints.prepare_position)
           < (excluded.commit_position, excluded.prepare_position)`,
      [saga, position.commit.toString(), position.prepare.toString()],
    );
  }
}
