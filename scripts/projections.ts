/**
 * Projections CLI, on the same configuration as the API (DATABASE_URL or the embedded
 * PostgreSQL under NIMBUS_DATA_DIR, EVENTSTORE_URL):
 *
 *   npm run projections -- status
 *   npm run projections -- rebuild <name>
 */
import { SingleBar } from 'cli-progress';
import { DataSource } from 'typeorm';
import { allProjections } from '../projections';
import { APP_RESOURCE_CATALOG } from '../src/resource-kinds';
import type { Projection } from '../projections/runtime/projection';
import {
  ProjectionRuntime,
  type ProjectionStatus,
} from '../projections/runtime/projection-runtime';
import { ConfigError, loadConfig, type AppConfig } from '../src/config/config';
import type { EventStore } from '../src/eventstore/event-store';
import { EventStoreDbEventStore } from '../src/eventstore/eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from '../src/eventstore/postgres/postgres-event-store';
import { openDatabase, type DatabaseInfo } from '../src/platform/database';

const USAGE = `usage: npm run projections -- <command>

commands:
  status            each projection's version, position, events processed, lag and status
  rebuild <name>    reset the projection and replay the whole log (progress bar, events/s)`;

/** What the CLI reads and writes; tests pass their own. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  projections: readonly Projection[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface Resources {
  db: DatabaseInfo;
  store: EventStore;
  dataSource: DataSource;
  runtime: ProjectionRuntime;
}

async function open(config: AppConfig, ctx: CliContext): Promise<Resources> {
  const db = await openDatabase(config, (m) => ctx.stderr.write(`${m}\n`));
  const store: EventStore = config.eventStoreUrl
    ? new EventStoreDbEventStore({ connectionString: config.eventStoreUrl })
    : new PostgresEventStore({ connectionString: db.url });
  await store.init();
  const dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [],
    synchronize: false,
    applicationName: 'nimbus-projections-cli',
  });
  await dataSource.initialize();
  const runtime = new ProjectionRuntime(store, dataSource, ctx.projections);
  return { db, store, dataSource, runtime };
}

async function close(resources: Resources): Promise<void> {
  await resources.runtime.stop().catch(() => undefined);
  await resources.dataSource.destroy().catch(() => undefined);
  await resources.store.close().catch(() => undefined);
  await resources.db.stop().catch(() => undefined);
}

export function formatStatusTable(rows: readonly ProjectionStatus[]): string {
  if (rows.length === 0) return '(no projections are defined)';
  const header = ['NAME', 'VERSION', 'POSITION', 'PROCESSED', 'LAG', 'STATUS', 'UPDATED', 'ERROR'];
  const lines = rows.map((r) => [
    r.name,
    r.storedVersion === null || r.storedVersion === r.version
      ? String(r.version)
      : `${r.version} (stored ${r.storedVersion})`,
    r.position ?? '(start)',
    String(r.eventsProcessed),
    r.lag.exact ? String(r.lag.events) : `>=${r.lag.events}`,
    r.status,
    r.updatedAt ?? '-',
    r.lastError ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [render(header), ...lines.map(render)].join('\n');
}

async function status(resources: Resources, ctx: CliContext): Promise<number> {
  ctx.stdout.write(`${formatStatusTable(await resources.runtime.status())}\n`);
  return 0;
}

async function rebuild(
  resources: Resources,
  ctx: CliContext,
  requested: string | undefined,
): Promise<number> {
  const known = resources.runtime.projections.map((p) => p.name);
  const name = requested === undefined ? undefined : resolveProjectionName(requested, known);
  if (!name) {
    ctx.stderr.write(
      `${requested ? `unknown or ambiguous projection "${requested}"` : 'rebuild needs a projection name'}; ` +
        `known: ${known.length > 0 ? known.join(', ') : '(none)'}\n`,
    );
    return 2;
  }
  const abort = new AbortController();
  const interrupt = (): void => abort.abort();
  process.once('SIGINT', interrupt);
  const started = performance.now();
  let bar: SingleBar | undefined;
  const result = await resources.runtime.rebuild(name, {
    signal: abort.signal,
    onProgress: ({ eventsRead, total }) => {
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? Math.round(eventsRead / seconds) : 0;
      if (!bar) {
        bar = new SingleBar({
          format:
            total === null
              ? `${name} | {value} events | {rate} events/s | {duration_formatted}`
              : `${name} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_formatted}`,
          hideCursor: true,
          stream: ctx.stderr,
        });
        bar.start(total ?? 0, 0, { rate });
      }
      if (total !== null && eventsRead > total) bar.setTotal(eventsRead);
      bar.update(eventsRead, { rate });
    },
  });
  bar?.stop();
  process.off('SIGINT', interrupt);
  if (abort.signal.aborted) {
    ctx.stderr.write('rebuild interrupted; the projection will resume from its checkpoint\n');
    return 130;
  }
  const seconds = result.durationMs / 1000;
  const rate = seconds > 0 ? Math.round(result.eventsRead / seconds) : result.eventsRead;
  ctx.stdout.write(
    `rebuilt ${name}: ${result.eventsRead} events (${result.eventsApplied} applied) in ` +
      `${seconds.toFixed(2)} s, ${rate} events/s` +
      (result.mode === 'followed' ? ' (replayed by the runner of a running API process)' : '') +
      '\n',
  );
  return 0;
}

export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [command, ...args] = argv;
  if (command !== 'status' && command !== 'rebuild') {
    ctx.stderr.write(`${USAGE}\n`);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
  let config: AppConfig;
  try {
    config = loadConfig(ctx.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      ctx.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const resources = await open(config, ctx);
  try {
    return command === 'status'
      ? await status(resources, ctx)
      : await rebuild(resources, ctx, args[0]);
  } finally {
    await close(resources);
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    env: process.env,
    projections: allProjections(APP_RESOURCE_CATALOG),
    stdout: process.stdout,
    stderr: process.stderr,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * The projection a name given on the command line means: its full name (`billing.usage`), or a
 * bounded context's name (`billing`) when exactly one projection belongs to that context.
 */
export function resolveProjectionName(
  requested: string,
  known: readonly string[],
): string | undefined {
  if (known.includes(requested)) return requested;
  const inContext = known.filter((n) => n.startsWith(`${requested}.`));
  return inContext.length === 1 ? inContext[0] : undefined;
}
