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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
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

/**
 * Tops the log up to `CATCH_UP_EVENTS` with a bulk INSERT if the append measurements left fewer,
 * then reads the first `CATCH_UP_EVENTS` from the start with subscribeToAll.
 */
async function measureCatchUp(url: string, store: PostgresEventStore): Promise<CatchUpMeasurement> {
  const client = new Client({ connectionString: url });
  await client.connect();
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
    if (++seen >= CATCH_UP_EVENTS) break;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  controller.abort();
  return { events: seen, seconds, eventsPerSecond: seen / seconds, batchSize: CATCH_UP_BATCH };
}

interface Pairing {
  key: 'single_1' | 'single_16' | 'batch100_1' | 'batch100_16';
  writers: number;
  eventsPerAppend: number;
  /** pgbench scripts measuring the same work as a raw INSERT (the first is the ratio's). */
  raw: { key: string; script: keyof PgbenchScripts }[];
}

const PAIRINGS: Pairing[] = [
  { key: 'single_1', writers: 1, eventsPerAppend: 1, raw: [{ key: 'single_1', script: 'single' }] },
  {
    key: 'single_16',
    writers: 16,
    eventsPerAppend: 1,
    raw: [{ key: 'single_16', script: 'single' }],
  },
  {
    key: 'batch100_1',
    writers: 1,
    eventsPerAppend: 100,
    raw: [{ key: 'batch100_1', script: 'batch' }],
  },
  {
    key: 'batch100_16',
    writers: 16,
    eventsPerAppend: 100,
    raw: [
      { key: 'batch100_16', script: 'batch' },
      { key: 'batch100_16_series', script: 'batchSeries' },
    ],
  },
];

type RawMeasurement = PgbenchResult & { eventsPerSecond: number };

function best<T extends { eventsPerSecond: number }>(samples: T[]): T {
  return samples.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const db = await freshDatabase('eventstore');
  const scriptsDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-'));
  const store = new PostgresEventStore({ connectionString: db.url, poolSize: 20 });
  const cleanUp = async (): Promise<void> => {
    await store.close().catch(() => undefined);
    rmSync(scriptsDir, { recursive: true, force: true });
    await db.drop();
  };
  const interrupted = (): void => {
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await store.init();
    const settings = await serverSettings(db.url);
    console.log(
      `event store bench on ${db.server} (PostgreSQL ${settings.server_version}, fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit})`,
    );
    console.log(
      `  ${ROUNDS} round(s) of ${SECONDS}s measurements, each adapter measurement next to its pgbench ceiling; best of the rounds is reported`,
    );
    const pgbench = findPgbench();
    const scripts = pgbench ? pgbenchScripts(scriptsDir) : null;
    if (!pgbench) {
      console.warn('  pgbench not found (set PGBENCH): the raw INSERT ceiling is not measured');
    }

    const ourSamples: Record<string, AppendMeasurement[]> = {};
    const rawSamples: Record<string, RawMeasurement[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`  round ${round}:`);
      for (const pairing of PAIRINGS) {
        const m = await measureAppends(store, pairing.writers, pairing.eventsPerAppend);
        (ourSamples[pairing.key] ??= []).push(m);
        console.log(
          `    ours ${String(pairing.writers).padStart(2)} writer(s) x ${String(pairing.eventsPerAppend).padStart(3)} event(s)/append: ${fmt(m.eventsPerSecond).padStart(7)} events/s (${fmt(m.appendsPerSecond)} appends/s)`,
        );
        if (!pgbench || !scripts) continue;
        for (const raw of pairing.raw) {
          const r = await runPgbench(
            pgbench,
            db.url,
            scripts[raw.script],
            pairing.writers,
            SECONDS,
          );
          const eventsPerSecond = r.tps * pairing.eventsPerAppend;
          (rawSamples[raw.key] ??= []).push({ ...r, eventsPerSecond });
          console.log(
            `    raw  ${String(pairing.writers).padStart(2)} client(s) x ${String(pairing.eventsPerAppend).padStart(3)} row(s)/INSERT:   ${fmt(eventsPerSecond).padStart(7)} events/s (pgbench ${raw.script}, ${fmt(r.tps)} tps)`,
          );
        }
      }
    }

    const ours = Object.fromEntries(Object.entries(ourSamples).map(([k, v]) => [k, best(v)]));
    const raw = Object.fromEntries(Object.entries(rawSamples).map(([k, v]) => [k, best(v)]));
    const ratios: Record<string, number> = {};
    for (const pairing of PAIRINGS) {
      for (const r of pairing.raw) {
        if (raw[r.key])
          ratios[r.key] = ours[pairing.key].eventsPerSecond / raw[r.key].eventsPerSecond;
      }
    }
    console.log('  best of rounds, events/s (ours / raw = ratio):');
    for (const pairing of PAIRINGS) {
      for (const r of pairing.raw) {
        const rawEps = raw[r.key]?.eventsPerSecond;
        console.log(
          `    ${r.key.padEnd(19)} ${fmt(ours[pairing.key].eventsPerSecond).padStart(7)} / ${rawEps === undefined ? '      -' : fmt(rawEps).padStart(7)} = ${ratios[r.key]?.toFixed(2) ?? '-'}`,
        );
      }
    }
    console.log(
      `    targets: single_16 >= ${TARGETS.singleRatio16}, batch100_16 >= ${TARGETS.batchRatio16}`,
    );

    const catchUp = await measureCatchUp(db.url, store);
    console.log(
      `  catch-up: ${fmt(catchUp.events)} events in ${catchUp.seconds.toFixed(2)}s = ${fmt(catchUp.eventsPerSecond)} events/s (subscribeToAll, batch ${catchUp.batchSize}; target >= ${fmt(TARGETS.catchUpEventsPerSecond)})`,
    );

    const file = writeResults('eventstore', {
      benchmark: 'eventstore',
      startedAt: startedAt.toISOString(),
      rounds: ROUNDS,
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
      samples: { ours: ourSamples, raw: rawSamples },
    });
    console.log(`  results written to ${file}`);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await cleanUp();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
