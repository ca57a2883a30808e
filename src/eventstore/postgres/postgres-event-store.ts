import { EventEmitter } from 'node:events';
import { Client, Pool, type PoolConfig } from 'pg';
import {
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '../event-store';
import { comparePositions, START, type Position } from '../../kernel/position';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../errors';
import { subscribeByPolling, wakeOnAppend } from '../subscription';
import { UpcasterRegistry } from '../upcasting';
import { EVENT_STORE_SCHEMA } from './schema';

const NOTIFY_CHANNEL = 'nimbus_events';
const UNIQUE_VIOLATION = '23505';
/** Appends with expected revision `any`/`stream_exists` race for the next revision; retry a few times. */
const ANY_REVISION_ATTEMPTS = 20;

export interface PostgresEventStoreOptions {
  /** The database; the LISTEN connection (and the pool, unless `pool` is given) connect to it. */
  connectionString: string;
  /**
   * The application's pool, shared with everything else on the database: the store queries
   * through it and leaves it open on close. Without it, the store opens a pool of `poolSize`.
   */
  pool?: Pool;
  poolSize?: number;
  upcasters?: UpcasterRegistry;
  /** How long a live subscriber sleeps when it hears nothing (LISTEN/NOTIFY wakes it earlier). */
  pollIntervalMs?: number;
}

interface EventRow {
  global_position: string;
  tx_text: string;
  event_id: string;
  stream_id: string;
  stream_revision: string;
  event_type: string;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

interface InsertedRow {
  global_position: string;
  tx_text: string;
  stream_revision: string;
}

// The text copy of the xid8 is aliased apart from the column: ORDER BY resolves output names
// first, and ordering by a text "transaction_id" would put "1000" before "999".
const SELECT_COLUMNS = `global_position, transaction_id::text AS tx_text, event_id, stream_id,
  stream_revision, event_type, data, metadata, recorded_at`;

/**
 * The default event store: one `events` table in PostgreSQL.
 *
 * Ordering: `$all` is ordered by (transaction_id, global_position) and read only below the
 * snapshot's xmin. A sequence value is taken when a row is inserted, not when its transaction
 * commits, so a plain `ORDER BY global_position` poller can pass a slow transaction's rows before
 * they become visible and never come back for them. Reading below xmin means every transaction
 * whose rows could still appear in the range has finished.
 */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres' as const;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly upcasters: UpcasterRegistry;
  private readonly pollIntervalMs: number;
  private readonly appended = new EventEmitter();
  private listener: Client | undefined;
  private listenerStarting: Promise<void> | undefined;
  private notifyPending = false;
  /** Ids of this process's open transactions that append nothing (see declareNonAppending). */
  private readonly nonAppending = new Set<string>();
  /** Newest position appended through this instance: readers behind it poll fast. */
  private localHead: Position | null = null;
  private closed = false;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.ownsPool = options.pool === undefined;
    if (options.pool) {
      this.pool = options.pool;
    } else {
      const config: PoolConfig = {
        connectionString: options.connectionString,
        max: options.poolSize ?? 20,
        application_name: 'nimbus-eventstore',
      };
      this.pool = new Pool(config);
      this.pool.on('error', () => undefined);
    }
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.appended.setMaxListeners(0);
  }

  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Serialise schema creation across processes starting at the same time.
      await client.query('SELECT pg_advisory_lock(hashtext($1))', ['nimbus:eventstore:schema']);
      try {
        await client.query(EVENT_STORE_SCHEMA);
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['nimbus:eventstore:schema']);
      }
    } finally {
      client.release();
    }
  }

  async append(
    streamId: string,
    events: NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const ids = events.map((e) => e.id);
    const types = events.map((e) => e.type);
    const datas = events.map((e) => JSON.stringify(e.data ?? null));
    const metas = events.map((e) => JSON.stringify(e.metadata));

    for (let attempt = 1; ; attempt++) {
      try {
        const rows = await this.insert(streamId, expected, ids, types, datas, metas);
        if (rows.length === 0) {
          const existing = await this.findExisting(streamId, ids);
          if (existing) return existing;
          throw new WrongExpectedRevisionError(
            streamId,
            expected,
            await this.currentRevision(streamId),
          );
        }
        const last = rows[rows.length - 1];
        const result: AppendResult = {
          nextExpectedRevision: BigInt(last.stream_revision),
          position: { commit: BigInt(last.tx_text), prepare: BigInt(last.global_position) },
        };
        this.announce(result.position);
        return result;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const existing = await this.findExisting(streamId, ids);
        if (existing) return existing;
        const constraint = (err as { constraint?: string }).constraint;
        if (constraint === 'events_event_id_key') throw new DuplicateEventIdError(streamId, ids);
        const racing = expected === 'any' || expected === 'stream_exists';
        if (racing && attempt < ANY_REVISION_ATTEMPTS) continue;
        throw new WrongExpectedRevisionError(
          streamId,
          expected,
          await this.currentRevision(streamId),
        );
      }
    }
  }

  private async insert(
    streamId: string,
    expected: ExpectedRevision,
    ids: string[],
    types: string[],
    datas: string[],
    metas: string[],
  ): Promise<InsertedRow[]> {
    const returning = 'RETURNING global_position, transaction_id::text AS tx_text, stream_revision';
    const unnest = `unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[])
      WITH ORDINALITY AS e(id, type, data, meta, ord)`;
    // Statements are named so that each pooled connection parses and plans them once.
    if (ids.length === 1 && expected === 'no_stream') {
      // One event into a new stream (a create command), in the cheapest form the server has:
      // the unique (stream_id, stream_revision) key alone rejects a stream that already exists.
      // Measured with pgbench, a single-row VALUES costs the server about 60% of the unnest form.
      const res = await this.pool.query<InsertedRow>({
        name: 'nimbus_events_append_new_1',
        text: `INSERT INTO events (event_id, stream_id, stream_revision, event_type, data, metadata)
               VALUES ($1::uuid, $2, 0, $3, $4::jsonb, $5::jsonb) ${returning}`,
        values: [ids[0], streamId, types[0], datas[0], metas[0]],
      });
      return res.rows;
    }
    if (ids.length === 1 && typeof expected === 'bigint') {
      const res = await this.pool.query<InsertedRow>({
        name: 'nimbus_events_append_exact_1',
        text: `INSERT INTO events (event_id, stream_id, stream_revision, event_type, data, metadata)
               SELECT $1::uuid, $2, $3::bigint + 1, $4, $5::jsonb, $6::jsonb
               WHERE EXISTS (SELECT 1 FROM events WHERE stream_id = $2 AND stream_revision = $3::bigint)
               ${returning}`,
        values: [ids[0], streamId, expected.toString(), types[0], datas[0], metas[0]],
      });
      return res.rows;
    }
    if (typeof expected === 'bigint' || expected === 'no_stream') {
      // Exact revision: the row at `expected` must exist (unless no_stream) and the unique
      // (stream_id, stream_revision) index rejects a writer that lost the race.
      const base = expected === 'no_stream' ? -1n : expected;
      const res = await this.pool.query<InsertedRow>({
        name: 'nimbus_events_append_exact_n',
        text: `INSERT INTO events (event_id, stream_id, stream_revision, event_type, data, metadata)
         SELECT e.id, $1, $2::bigint + e.ord, e.type, e.data, e.meta FROM ${unnest}
         WHERE $2::bigint = -1
            OR EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND stream_revision = $2::bigint)
         ${returning}`,
        values: [streamId, base.toString(), ids, types, datas, metas],
      });
      return res.rows;
    }
    const requireExisting = expected === 'stream_exists';
    const res = await this.pool.query<InsertedRow>({
      name: 'nimbus_events_append_any_n',
      text: `WITH cur AS (
         SELECT coalesce(max(stream_revision), -1) AS rev FROM events WHERE stream_id = $1
       )
       INSERT INTO events (event_id, stream_id, stream_revision, event_type, data, metadata)
       SELECT e.id, $1, cur.rev + e.ord, e.type, e.data, e.meta FROM cur, ${unnest}
       WHERE NOT $2::boolean OR cur.rev >= 0
       ${returning}`,
      values: [streamId, requireExisting, ids, types, datas, metas],
    });
    return res.rows;
  }

  /** The result of an earlier identical append, if these ids are already this stream's events. */
  private async findExisting(streamId: string, ids: string[]): Promise<AppendResult | null> {
    const res = await this.pool.query<{
      stream_id: string;
      stream_revision: string;
      global_position: string;
      tx_text: string;
    }>(
      `SELECT stream_id, stream_revision, global_position, transaction_id::text AS tx_text
         FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY stream_revision`,
      [ids],
    );
    if (res.rowCount === 0) return null;
    const sameAppend =
      res.rows.length === ids.length &&
      res.rows.every(
        (r, i) =>
          r.stream_id === streamId &&
          (i === 0 || BigInt(r.stream_revision) === BigInt(res.rows[i - 1].stream_revision) + 1n),
      );
    if (!sameAppend) throw new DuplicateEventIdError(streamId, ids);
    const last = res.rows[res.rows.length - 1];
    return {
      nextExpectedRevision: BigInt(last.stream_revision),
      position: { commit: BigInt(last.tx_text), prepare: BigInt(last.global_position) },
    };
  }

  private async currentRevision(streamId: string): Promise<bigint | 'no_stream'> {
    const res = await this.pool.query<{ rev: string | null }>(
      'SELECT max(stream_revision) AS rev FROM events WHERE stream_id = $1',
      [streamId],
    );
    const rev = res.rows[0]?.rev;
    return rev === null || rev === undefined ? 'no_stream' : BigInt(rev);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const from = options.fromRevision ?? 0n;
    const limit = options.maxCount ?? null;
    const res = await this.pool.query<EventRow>(
      `SELECT ${SELECT_COLUMNS} FROM events
        WHERE stream_id = $1 AND stream_revision >= $2
        ORDER BY stream_revision LIMIT $3`,
      [streamId, from.toString(), limit],
    );
    return res.rows.map((r) => this.toRecorded(r));
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const after = options.after ?? START;
    // Below the oldest open transaction that may still append (the snapshot's xmin, not counting
    // the transactions declared here to append nothing; see declareNonAppending).
    const res = await this.pool.query<EventRow>({
      name: 'nimbus_events_read_all',
      text: `SELECT ${SELECT_COLUMNS} FROM events
        WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
          AND transaction_id < (
            SELECT coalesce(
                     (SELECT min(x) FROM pg_snapshot_xip(s.snap) AS x WHERE x <> ALL ($4::xid8[])),
                     pg_snapshot_xmax(s.snap))
              FROM (SELECT pg_current_snapshot() AS snap) AS s)
        ORDER BY events.transaction_id, events.global_position
        LIMIT $3`,
      values: [
        after.commit.toString(),
        after.prepare.toString(),
        options.maxCount,
        [...this.nonAppending],
      ],
    });
    return res.rows.map((r) => this.toRecorded(r));
  }

  knownHeadPosition(): Position | null {
    return this.localHead;
  }

  /**
   * Declares an open transaction of this process that appends no events (a projection batch
   * writing read models and checkpoints): `readAll` then reads past it instead of waiting for
   * it to end, as it must for any transaction that might still append rows below the events it
   * returns. Call the returned function once the transaction has committed or rolled back.
   */
  declareNonAppending(transactionId: string): () => void {
    if (!/^\d+$/.test(transactionId)) return () => undefined;
    this.nonAppending.add(transactionId);
    return () => {
      this.nonAppending.delete(transactionId);
    };
  }

  async headPosition(): Promise<Position | null> {
    const res = await this.pool.query<{ tx_text: string; global_position: string }>(
      `SELECT transaction_id::text AS tx_text, global_position FROM events
        WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`,
    );
    const row = res.rows[0];
    return row ? { commit: BigInt(row.tx_text), prepare: BigInt(row.global_position) } : null;
  }

  async waitForAppends(
    timeoutMs: number,
    signal?: AbortSignal,
    after?: Position | null,
  ): Promise<void> {
    if (this.closed || signal?.aborted) return;
    if (this.localHead && comparePositions(after ?? START, this.localHead) < 0) {
      // Appended here but not yet readable: an older transaction still holds the xmin back.
      await sleep(2, signal);
      return;
    }
    await this.ensureListening();
    await wakeOnAppend(this.appended, timeoutMs, signal);
  }

  subscribeToAll(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    return subscribeByPolling(this, options, this.pollIntervalMs);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.appended.emit('appended');
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    if (this.ownsPool) await this.pool.end();
  }

  /**
   * Wakes local subscribers at once, and other processes through NOTIFY. The NOTIFY is sent after
   * the append committed, from outside its transaction, and coalesced: a NOTIFY inside every
   * append transaction would serialise all writers on PostgreSQL's notification queue lock.
   */
  private announce(position: Position): void {
    if (!this.localHead || comparePositions(position, this.localHead) > 0)
      this.localHead = position;
    this.appended.emit('appended');
    if (this.notifyPending || this.closed) return;
    this.notifyPending = true;
    setTimeout(() => {
      this.notifyPending = false;
      if (this.closed) return;
      this.pool.query(`SELECT pg_notify('${NOTIFY_CHANNEL}', '')`).catch(() => undefined);
    }, 5).unref();
  }

  private async ensureListening(): Promise<void> {
    if (this.listener || this.closed) return;
    this.listenerStarting ??= (async () => {
      const client = new Client({
        connectionString: this.options.connectionString,
        application_name: 'nimbus-eventstore-listen',
      });
      client.on('error', () => {
        if (this.listener === client) this.listener = undefined;
      });
      client.on('notification', () => this.appended.emit('appended'));
      try {
        await client.connect();
        await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
        if (this.closed) await client.end();
        else this.listener = client;
      } catch {
        await client.end().catch(() => undefined);
      } finally {
        this.listenerStarting = undefined;
      }
    })();
    await this.listenerStarting;
  }

  private toRecorded(r: EventRow): RecordedEvent {
    return this.upcasters.apply({
      id: r.event_id,
      type: r.event_type,
      data: r.data,
      metadata: r.metadata,
      streamId: r.stream_id,
      revision: BigInt(r.stream_revision),
      position: { commit: BigInt(r.tx_text), prepare: BigInt(r.global_position) },
      recordedAt: r.recorded_at,
    });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // The abort listener is removed when the timer fires: a long-lived subscription sleeps
    // often on one signal and must not pile listeners up on it.
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function isUniqueViolation(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { code?: string }).code === UNIQUE_VIOLATION
  );
}
