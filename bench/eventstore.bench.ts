/**
 * `npm run bench:eventstore`: appends/s and catch-up events/s through PostgresEventStore, beside
 * the ceiling that pgbench reaches with an equivalent raw INSERT on the same table, server and
 * database. Prints the numbers and our/raw ratios and writes bench/results/eventstore.json.
 *
 * Each append goes to a new stream with expected revision `no_stream` (a create command); the
 * raw INSERT does the same (a new stream id, revision 0, the same JSON payload and envelope).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { EventMetadata, NewEvent } from '../src/eventstore/event-store';
import { PostgresEventStore } from '../src/eventstore/postgres/postgres-event-store';
import {
  environment,
  findPgbench,
  fmt,
  freshDatabase,
  runPgbench,
  serverSettings,
  writeResults,
  type PgbenchResult,
} from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP_MS = 300;
const CATCH_UP_EVENTS = Number(process.env.BENCH_CATCH_UP_EVENTS ?? 200_000);
const CATCH_UP_BATCH = 1000;
const TARGETS = { singleRatio16: 0.5, batchRatio16: 0.6, catchUpEventsPerSecond: 50_000 };

const DATA = { name: 'bench-volume', sizeGiB: 20, zone: 'zone-a', tags: { env: 'bench' } };
const METADATA: EventMetadata = {
  tenantId: '3f1d2c4b-5a69-4e7f-8a9b-0c1d2e3f4a5b',
  actor: { type: 'user', id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d' },
  correlationId: '0b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d3e',
  causationId: null,
  requestId: 'req-bench',
  sourceIp: '127.0.0.1',
  occurredAt: '2026-11-23T10:00:00.000Z',
  schemaVersion: 1,
};

function newEvent(): NewEvent {
  return { id: randomUUID(), type: 'BenchEvent', data: DATA, metadata: METADATA };
}

interface AppendMeasurement {
  writers: number;
  eventsPerAppend: number;
  appends: number;
  events: number;
  seconds: number;
  appendsPerSecond: number;
  eventsPerSecond: number;
}

/** `writers` loops appending `eventsPerAppend` events to a new stream each, for `seconds`. */
async function measureAppends(
  store: PostgresEventStore,
  writers: number,
  eventsPerAppend: number,
): Promise<AppendMeasurement> {
  const run = async (until: number): Promise<number> => {
    let appends = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (Date.now() < until) {
          const events = Array.from({ length: eventsPerAppend }, newEvent);
          await store.append(`bench-${randomUUID()}`, events, 'no_stream');
          appends++;
        }
      }),
    );
    return appends;
  };
  await run(Date.now() + WARMUP_MS);
  const started = process.hrtime.bigint();
  const appends = await run(Date.now() + SECONDS * 1000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    writers,
    eventsPerAppend,
    appends,
    events: appends * eventsPerAppend,
    seconds,
    appendsPerSecond: appends / seconds,
    eventsPerSecond: (appends * eventsPerAppend) / seconds,
  };
}

function sqlLiteral(value: unknown): string {
  return `'${JSON.stringify(value).replace(/'/g, "''")}'::jsonb`;
}

interface PgbenchScripts {
  single: string;
  batch: string;
  batchSeries: string;
}

/**
 * pgbench scripts doing what one append does, as bare INSERTs into the same table: one row, 100
 * rows as a multi-row VALUES (each row's JSON parsed, like our 100 distinct events), and 100 rows
 * from generate_series (the JSON parsed once per statement: the cheapest form the server has).
 */
function pgbenchScripts(dir: string): PgbenchScripts {
  const insert =
    'INSERT INTO events (event_id, stream_id, stream_revision, event_type, data, metadata)';
  const data = sqlLiteral(DATA);
  const meta = sqlLiteral(METADATA);
  const row = (stream: string, revision: number): string =>
    `(gen_random_uuid(), ${stream}, ${revision}, 'BenchEvent', ${data}, ${meta})`;
  // pgbench variables hold numbers only; a random 63-bit number makes each stream id new.
  const setStream = '\\set stream_n random(1, 9223372036854775806)\n';
  const files: PgbenchScripts = {
    single: `${setStream}${insert} VALUES ${row("'raw-' || :stream_n", 0)};\n`,
    batch: `${setStream}${insert} VALUES\n${Array.from({ length: 100 }, (_, i) =>
      row("'rawb-' || :stream_n", i),
    ).join(',\n')};\n`,
    batchSeries: `${setStream}${insert}
SELECT gen_random_uuid(), 'raws-' || :stream_n, g, 'BenchEvent', ${data}, ${meta}
  FROM generate_series(0, 99) g;\n`,
  };
  for (const [name, text] of Object.entries(files)) {
    const file = join(dir, `${name}.sql`);
    writeFileSync(file, text);
    files[name as keyof PgbenchScripts] = file;
  }
  return files;
}

interface CatchUpMeasurement {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  batchSize: number;
}

/** Tops the log up to `CATCH_UP_EVENTS` with a bulk INSERT, then reads it all with subscribeToAll. */
async function measureCatchUp(url: string, store: PostgresEventStore): Promise<CatchUpMeasurement> {
  const client = new Client({ connectionString: url });
  await client.connect();
  let total: number;
  try {
    const count = await client.query<{ n: string }>('SELECT count(*) AS n FROM events');
    const missing = CATCH_UP_EVENTS - Number(count.rows[0].n);
    if (missing > 0) {
      await client.query(
        `INSERT INTO events (event_id, stream_id, stream_revision, event_type, data, metadata)
         SELECT gen_random_uuid(), 'fill-' || (g / 10), g % 10, 'BenchEvent', $1::jsonb, $2::jsonb
           FROM generate_series(0, $3::int - 1) g`,
        [JSON.stringify(DATA), JSON.stringify(METADATA), missing],
      );
    }
    total = Number(
      (await client.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0].n,
    );
    await client.query('VACUUM ANALYZE events');
  } finally {
    await client.end();
  }
  const controller = new AbortController();
  const started = process.hrtime.bigint();
  let seen = 0;
  for await (const event of store.subscribeToAll({
    signal: controller.signal,
    batchSize: CATCH_UP_BATCH,
  })) {
    void event;
    if (++seen >= total) break;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  controller.abort();
  return { events: seen, seconds, eventsPerSecond: seen / seconds, batchSize: CATCH_UP_BATCH };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const db = await freshDatabase('eventstore');
  const scriptsDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-'));
  const store = new PostgresEventStore({ connectionString: db.url, poolSize: 20 });
  try {
    await store.init();
    const settings = await serverSettings(db.url);
    console.log(
      `event store bench on ${db.server} (PostgreSQL ${settings.server_version}, fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}), ${SECONDS}s per measurement`,
    );

    const ours: Record<string, AppendMeasurement> = {};
    for (const [key, writers, size] of [
      ['single_1', 1, 1],
      ['single_16', 16, 1],
      ['batch100_1', 1, 100],
      ['batch100_16', 16, 100],
    ] as const) {
      const m = await measureAppends(store, writers, size);
      ours[key] = m;
      console.log(
        `  ours  ${String(writers).padStart(2)} writer(s) x ${String(size).padStart(3)} event(s)/append: ${fmt(m.appendsPerSecond).padStart(7)} appends/s, ${fmt(m.eventsPerSecond).padStart(7)} events/s`,
      );
    }

    const pgbench = findPgbench();
    const raw: Record<string, PgbenchResult & { eventsPerSecond: number }> = {};
    if (!pgbench) {
      console.warn('  pgbench not found (set PGBENCH): the raw INSERT ceiling was not measured');
    } else {
      const scripts = pgbenchScripts(scriptsDir);
      for (const [key, clients, file, size] of [
        ['single_1', 1, scripts.single, 1],
        ['single_16', 16, scripts.single, 1],
        ['batch100_1', 1, scripts.batch, 100],
        ['batch100_16', 16, scripts.batch, 100],
        ['batch100_16_series', 16, scripts.batchSeries, 100],
      ] as const) {
        const r = await runPgbench(pgbench, db.url, file, clients, SECONDS);
        raw[key] = { ...r, eventsPerSecond: r.tps * size };
        console.log(
          `  raw   ${String(clients).padStart(2)} client(s) x ${String(size).padStart(3)} row(s)/INSERT:   ${fmt(r.tps).padStart(7)} tps,      ${fmt(r.tps * size).padStart(7)} events/s (pgbench${key.endsWith('_series') ? ', generate_series' : ''})`,
        );
      }
    }

    const ratios: Record<string, number> = {};
    for (const key of Object.keys(raw)) {
      const ourKey = key.replace(/_series$/, '');
      ratios[key] = ours[ourKey].eventsPerSecond / raw[key].eventsPerSecond;
    }
    if (Object.keys(ratios).length > 0) {
      console.log(
        `  our/raw: ${Object.entries(ratios)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(
            ', ',
          )} (targets: single_16 >= ${TARGETS.singleRatio16}, batch100_16 >= ${TARGETS.batchRatio16})`,
      );
    }

    const catchUp = await measureCatchUp(db.url, store);
    console.log(
      `  catch-up: ${fmt(catchUp.events)} events in ${catchUp.seconds.toFixed(2)}s = ${fmt(catchUp.eventsPerSecond)} events/s (batch ${catchUp.batchSize}; target >= ${fmt(TARGETS.catchUpEventsPerSecond)})`,
    );

    const file = writeResults('eventstore', {
      benchmark: 'eventstore',
      startedAt: startedAt.toISOString(),
      secondsPerMeasurement: SECONDS,
      server: db.server,
      settings,
      environment: environment(),
      ours,
      raw,
      ratios,
      catchUp,
      targets: TARGETS,
      meetsTargets: {
        singleRatio16:
          ratios.single_16 === undefined ? null : ratios.single_16 >= TARGETS.singleRatio16,
        batchRatio16:
          ratios.batch100_16 === undefined ? null : ratios.batch100_16 >= TARGETS.batchRatio16,
        catchUp: catchUp.eventsPerSecond >= TARGETS.catchUpEventsPerSecond,
      },
    });
    console.log(`  results written to ${file}`);
  } finally {
    await store.close();
    rmSync(scriptsDir, { recursive: true, force: true });
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
