/**
 * Ledger benchmark: (1) rebuild of the billing and audit projections from a generated history
 * (events/s, each projection replayed alone through ProjectionRuntime.rebuild, as
 * `npm run projections -- rebuild <name>` does), and (2) the tenant timeline export of that
 * history (events/s through TimelineExporter written to a file with back-pressure, peak RSS
 * sampled during the export). Writes bench/results/ledger.json. Aims: rebuild >= 20,000 events/s,
 * export >= 50,000 events/s.
 *
 * BENCH_LEDGER_EVENTS sets the size (default 200,000, one tenant).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { auditProjection } from '../projections/audit';
import { billingProjection } from '../projections/billing';
import { ProjectionRuntime } from '../projections/runtime/projection-runtime';
import { ActorDirectory } from '../src/audit/actor-directory';
import { loadConfig } from '../src/config/config';
import { APP_RESOURCE_CATALOG } from '../src/resource-kinds';
import { PostgresEventStore } from '../src/eventstore/postgres/postgres-event-store';
import { Clock } from '../src/platform/clock';
import { verifyTimelineLines } from '../src/timeline/domain';
import { TimelineExporter } from '../src/timeline/timeline-export';
import { TimelineKeys } from '../src/timeline/timeline-keys';
import { generateHistory } from './ledger-history';
import { environment, fmt, freshDatabase, serverSettings, writeResults } from './support';

const TARGET_EVENTS = Number(process.env.BENCH_LEDGER_EVENTS ?? 200_000);

async function main(): Promise<void> {
  const db = await freshDatabase('ledger');
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-ledger-'));
  const store = new PostgresEventStore({ connectionString: db.url, poolSize: 10 });
  const dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [], poolSize: 5 });
  const pool = new Pool({ connectionString: db.url, max: 5 });
  try {
    await store.init();
    await dataSource.initialize();
    const tenant = randomUUID();
    // About 57 events per instance with 30 operations each, volumes included.
    const instances = Math.max(1, Math.round(TARGET_EVENTS / 57));
    const genStart = performance.now();
    const history = await generateHistory(store, {
      tenants: [tenant],
      users: { [tenant]: randomUUID() },
      instancesPerTenant: instances,
      volumesPerTenant: Math.round(instances / 4),
      start: Date.UTC(2026, 0, 1) / 1000,
      end: Date.UTC(2026, 2, 31) / 1000,
      operationsPerInstance: 30,
      seed: 1,
    });
    const genSeconds = (performance.now() - genStart) / 1000;
    console.log(`[ledger] generated ${fmt(history.events)} events in ${genSeconds.toFixed(1)} s`);

    const runtime = new ProjectionRuntime(store, dataSource, [
      billingProjection(APP_RESOURCE_CATALOG),
      auditProjection(APP_RESOURCE_CATALOG),
    ]);
    await runtime.ensureTables();
    const rebuild: Record<
      string,
      { events: number; applied: number; seconds: number; eventsPerSecond: number }
    > = {};
    for (const name of ['billing.usage', 'audit.log']) {
      const result = await runtime.rebuild(name);
      const seconds = result.durationMs / 1000;
      rebuild[name] = {
        events: result.eventsRead,
        applied: result.eventsApplied,
        seconds,
        eventsPerSecond: result.eventsRead / seconds,
      };
      console.log(
        `[ledger] rebuild ${name}: ${fmt(result.eventsRead)} events in ${seconds.toFixed(2)} s = ${fmt(result.eventsRead / seconds)} events/s`,
      );
    }
    await runtime.stop();

    const exported = await exportInChild(db.url, tenant, dataDir);
    console.log(
      `[ledger] export: ${fmt(exported.events)} events in ${exported.seconds.toFixed(2)} s = ${fmt(exported.eventsPerSecond)} events/s; peak RSS of the exporting process ${fmt(exported.peakRssMiB)} MiB (${fmt(exported.baselineRssMiB)} MiB before); ${fmt(exported.fileMiB)} MiB file`,
    );
    console.log(
      `[ledger] verify: ${exported.verified ? 'OK' : 'FAILED'} in ${exported.verifySeconds.toFixed(2)} s = ${fmt(exported.events / exported.verifySeconds)} lines/s`,
    );

    const path = writeResults('ledger', {
      when: new Date().toISOString(),
      environment: { ...environment(), loadAverage1m: loadavg()[0] },
      database: { server: db.server, settings: await serverSettings(db.url) },
      events: history.events,
      generation: { seconds: genSeconds },
      rebuild,
      export: exported,
      aims: { rebuildEventsPerSecond: 20_000, exportEventsPerSecond: 50_000 },
    });
    console.log(`[ledger] results in ${path}`);
  } finally {
    await pool.end().catch(() => undefined);
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    await store.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface ExportResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  baselineRssMiB: number;
  peakRssMiB: number;
  fileMiB: number;
  verified: boolean;
  verifySeconds: number;
}

/** The export runs in a process of its own, so its peak RSS is the export's alone. */
function exportInChild(url: string, tenant: string, dataDir: string): Promise<ExportResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [__filename, 'export', url, tenant, dataDir],
      { maxBuffer: 1024 * 1024, timeout: 600_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`export process failed: ${err.message}\n${stderr}`));
          return;
        }
        const last = stdout.trim().split('\n').pop() ?? '';
        resolve(JSON.parse(last) as ExportResult);
      },
    );
  });
}

async function exportMain(url: string, tenant: string, dataDir: string): Promise<void> {
  const store = new PostgresEventStore({ connectionString: url, poolSize: 4 });
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    const config = { ...loadConfig({ LOG_LEVEL: 'silent' }), dataDir, databaseUrl: url };
    const keys = new TimelineKeys(config);
    const exporter = new TimelineExporter(
      store,
      new ActorDirectory(pool, config),
      keys,
      new Clock(),
      APP_RESOURCE_CATALOG,
    );
    const file = join(dataDir, 'timeline.ndjson');
    const out = createWriteStream(file);
    const baseline = process.memoryUsage().rss;
    const started = performance.now();
    let last = '';
    for await (const chunk of exporter.export(tenant, { from: null, to: null }, 'ndjson')) {
      last = chunk;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const seconds = (performance.now() - started) / 1000;
    const peak = process.resourceUsage().maxRSS * 1024;
    const events = (JSON.parse(last) as { count: number }).count; // the manifest line
    const verifyStart = performance.now();
    const verdict = await verifyTimelineLines(
      createInterface({ input: createReadStream(file), crlfDelay: Infinity }),
      keys.publicKey,
    );
    const result: ExportResult = {
      events,
      seconds,
      eventsPerSecond: events / seconds,
      baselineRssMiB: baseline / 2 ** 20,
      peakRssMiB: peak / 2 ** 20,
      fileMiB: statSync(file).size / 2 ** 20,
      verified: verdict.ok,
      verifySeconds: (performance.now() - verifyStart) / 1000,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await pool.end().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

const [mode, ...args] = process.argv.slice(2);
(mode === 'export' ? exportMain(args[0], args[1], args[2]) : main()).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
