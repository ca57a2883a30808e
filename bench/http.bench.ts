/**
 * HTTP benchmark: commands/s and latency of a create command with read-your-writes (POST
 * /iam/policies: guard, decide, append, wait for the projection, read back) at 64 concurrent
 * clients, beside the same server's GET /health as the ceiling of the HTTP stack itself.
 *
 * The server runs in this process; the load generator (autocannon's CLI) runs in a child
 * process so the two do not share an event loop. Traffic goes to 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Pool } from 'pg';
import { loadConfig, type AppConfig } from '../src/config/config';
import { createApp } from '../src/create-app';
import { createRootLogger } from '../src/platform/logging';
import { PG_POOL } from '../src/platform/tokens';
import { AuthGuard } from '../src/identity/auth/auth.guard';
import { CommandExecutor } from '../src/eventstore/command-executor';
import { ProjectionWaiter } from '../projections/runtime/projection-waiter';
import { ProjectionRunner } from '../projections/runtime/projection-runner';
import { BatchCommitter } from '../projections/runtime/batch-committer';
import { PostgresEventStore } from '../src/eventstore/postgres/postgres-event-store';
import { PolicyNames } from '../src/identity/application/policies/policy-names';
import {
  countStatements,
  printJourneys,
  printProfile,
  startProfile,
  stopProfile,
  timeStage,
  traceLogReadability,
  type ProfileReport,
} from './profile';
import { environment, fmt, freshDatabase, serverSettings, writeResults } from './support';

const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 64);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
/** BENCH_PROFILE=1: one more run of the command that counts SQL statements and times stages. */
const PROFILE = process.env.BENCH_PROFILE === '1';

interface LoadResult {
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  total: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

function autocannon(url: string, extra: string[], seconds = SECONDS): Promise<LoadResult> {
  const cli = require.resolve('autocannon/autocannon.js');
  const args = [cli, '-c', String(CONNECTIONS), '-d', String(seconds), '-j', ...extra, url];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { maxBuffer: 64 * 1024 * 1024, timeout: (seconds + 60) * 1000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`autocannon failed: ${err.message}\n${stderr}`));
          return;
        }
        if (stdout.trim() === '') {
          reject(new Error(`autocannon printed no result; stderr:\n${stderr}`));
          return;
        }
        const r = JSON.parse(stdout) as AutocannonJson;
        resolve({
          requestsPerSecond: r.requests.average,
          latencyMs: {
            p50: r.latency.p50,
            p90: r.latency.p90,
            p99: r.latency.p99,
            max: r.latency.max,
          },
          total: r.requests.total,
          ok2xx: r['2xx'],
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
        });
      },
    );
  });
}

async function postJson(
  base: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function countEvents(app: NestFastifyApplication, type: string): Promise<number> {
  const pool = app.get<Pool>(PG_POOL);
  const res = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM events WHERE event_type = $1',
    [type],
  );
  return Number(res.rows[0].n);
}

/** Open connections to the bench database, by application_name (the pools and sessions). */
async function connectionsByApplication(
  app: NestFastifyApplication,
): Promise<Record<string, number>> {
  const pool = app.get<Pool>(PG_POOL);
  const res = await pool.query<{ name: string; n: string }>(
    `SELECT coalesce(nullif(application_name, ''), '(unnamed)') AS name, count(*) AS n
       FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1 ORDER BY 1`,
  );
  return Object.fromEntries(res.rows.map((r) => [r.name, Number(r.n)]));
}

function instrument(): void {
  countStatements();
  timeStage(AuthGuard.prototype, 'canActivate', 'guard');
  timeStage(CommandExecutor.prototype, 'execute', 'load+decide+append');
  timeStage(ProjectionWaiter.prototype, 'waitFor', 'read-your-writes wait');
  timeStage(ProjectionRunner.prototype, 'applyBatch', 'projection batch (all runners)');
  timeStage(BatchCommitter.prototype, 'commitGroup', 'projection group commit');
  timeStage(PolicyNames.prototype, 'isTaken', 'policy name check');
  traceLogReadability(PostgresEventStore.prototype);
}

async function main(): Promise<void> {
  if (PROFILE) instrument();
  const db = await freshDatabase('http');
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-http-'));
  const base = loadConfig({
    LOG_LEVEL: 'silent',
    NIMBUS_DOCKER: 'simulated',
    NIMBUS_OVS: 'simulated',
    // The limits protect a real deployment; here they would only measure themselves.
    NIMBUS_AUTH_RATE_LIMIT: '100000',
    NIMBUS_API_RATE_LIMIT: '1000000',
  });
  const config: AppConfig = { ...base, dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0 };
  const app = await createApp(config, { logger: createRootLogger('silent') });
  try {
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (!address || typeof address !== 'object') throw new Error('server has no address');
    const url = `http://127.0.0.1:${address.port}`;

    const email = `bench-${Date.now()}@example.com`;
    await postJson(url, '/auth/register', {
      email,
      password: 'bench-password-9f3k',
      name: 'Bench',
    });
    const login = await postJson(url, '/auth/login', { email, password: 'bench-password-9f3k' });
    const token = String(login.access_token);

    console.log(
      `server ${url}, ${CONNECTIONS} connections, ${SECONDS}s per run, database ${db.server}`,
    );
    // Warm up both paths (JIT, connection pools, prepared statements).
    await autocannon(`${url}/health`, [], 2);
    const health = await autocannon(`${url}/health`, []);
    console.log(
      `GET /health             ${fmt(health.requestsPerSecond)} req/s  p50 ${health.latencyMs.p50} ms  p99 ${health.latencyMs.p99} ms`,
    );

    const body = JSON.stringify({
      name: 'bench-[<id>]',
      statements: [{ effect: 'Allow', action: ['compute:list'], resource: ['*'] }],
    });
    const post = [
      '-m',
      'POST',
      '-H',
      `authorization=Bearer ${token}`,
      '-H',
      'content-type=application/json',
      '-b',
      body,
      '-I',
    ];
    await autocannon(`${url}/iam/policies`, post, 2);
    const before = await countEvents(app, 'PolicyCreated');
    const create = await autocannon(`${url}/iam/policies`, post);
    const appended = (await countEvents(app, 'PolicyCreated')) - before;
    console.log(
      `POST /iam/policies      ${fmt(create.requestsPerSecond)} commands/s  p50 ${create.latencyMs.p50} ms  p99 ${create.latencyMs.p99} ms  (${create.ok2xx} 2xx, ${create.non2xx} other, ${appended} events)`,
    );
    const ratio = create.requestsPerSecond / health.requestsPerSecond;
    console.log(`commands / health ceiling = ${ratio.toFixed(3)}`);
    const connections = await connectionsByApplication(app);
    console.log(
      `server connections to its database: ${Object.entries(connections)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ')}`,
    );

    let profile: ProfileReport | undefined;
    if (PROFILE) {
      const profiledBefore = await countEvents(app, 'PolicyCreated');
      startProfile();
      await autocannon(`${url}/iam/policies`, post, Math.max(2, Math.round(SECONDS / 2)));
      const profiled = (await countEvents(app, 'PolicyCreated')) - profiledBefore;
      profile = stopProfile(profiled);
      console.log(`profile of a further run (${profiled} commands):`);
      printProfile(profile);
      printJourneys();
    }

    const file = writeResults('http', {
      bench: 'http',
      at: new Date().toISOString(),
      environment: environment(),
      postgres: { server: db.server, ...(await serverSettings(db.url)) },
      connections: CONNECTIONS,
      seconds: SECONDS,
      health,
      createWithReadYourWrites: {
        route: 'POST /iam/policies',
        ...create,
        eventsAppended: appended,
      },
      ratioToHealth: ratio,
      serverConnections: connections,
      ...(profile ? { profile } : {}),
    });
    console.log(`results written to ${file}`);
  } finally {
    await app.close();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
