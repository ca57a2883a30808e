/**
 * Compute benchmark: launch-to-RUNNING latency on the real Docker engine. 20 instances
 * (basic-1, busybox), 4 launches in flight at a time, each measured from the POST /instances
 * request to the launch saga recording the instance RUNNING (container created with its limits,
 * started, every step recorded). In the same run, the same number of bare `docker create` +
 * `start` calls of the same image, limits and command at the same concurrency give the floor the
 * engine itself sets; the bench prints both p50s and their ratio (aim: at most 2x) and writes
 * bench/results/compute.json.
 *
 * The API runs in this process on a fresh database; containers are labelled and removed at the
 * end. Traffic goes to 127.0.0.1 and the local Docker socket only.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { INSTANCE_LAUNCH_SAGA } from '../sagas/instance-launch/instance-launch.saga';
import type { SagaRuntime } from '../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../sagas/runtime/sagas.module';
import { loadConfig, type AppConfig } from '../src/config/config';
import { dockerResourceLimits, resolveInstanceType } from '../src/compute/domain/instance-types';
import { BASE_IMAGES } from '../src/drivers/docker/base-images';
import { bootCommand } from '../src/drivers/docker/compute-driver';
import { createApp } from '../src/create-app';
import { createRootLogger } from '../src/platform/logging';
import { environment, freshDatabase, serverSettings, writeResults } from './support';

const INSTANCES = Number(process.env.BENCH_COMPUTE_INSTANCES ?? 20);
const CONCURRENCY = Number(process.env.BENCH_COMPUTE_CONCURRENCY ?? 4);
const LABEL = 'nimbus.bench';
const RUN = `compute-${randomUUID().slice(0, 8)}`;

async function postJson(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

interface LatencySummary {
  p50: number;
  p95: number;
  min: number;
  max: number;
}

function summarise(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: Math.round(percentile(sorted, 50)),
    p95: Math.round(percentile(sorted, 95)),
    min: Math.round(sorted[0] ?? NaN),
    max: Math.round(sorted[sorted.length - 1] ?? NaN),
  };
}

/** Runs `one(i)` for i in [0, count) with `concurrency` in flight; returns each call's ms. */
async function timedPool(
  count: number,
  concurrency: number,
  one: (index: number) => Promise<boolean>,
): Promise<{ samples: number[]; failures: number; wallMs: number }> {
  const samples: number[] = [];
  let failures = 0;
  let next = 0;
  const wallStart = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        const started = performance.now();
        if (await one(index)) samples.push(performance.now() - started);
        else failures++;
      }
    }),
  );
  return { samples, failures, wallMs: performance.now() - wallStart };
}

/** `docker create` + `start` of what a launch creates (image, command, limits, no network). */
async function rawCreateStart(docker: Dockerode, name: string): Promise<boolean> {
  const limits = dockerResourceLimits(resolveInstanceType('basic-1'));
  const container = await docker.createContainer({
    name,
    // The reference the catalog's `busybox` resolves to.
    Image: BASE_IMAGES[0].reference,
    Cmd: bootCommand(),
    Labels: { [LABEL]: RUN },
    HostConfig: {
      NetworkMode: 'none',
      NanoCpus: limits.NanoCpus,
      Memory: limits.Memory,
      MemorySwap: limits.MemorySwap,
      RestartPolicy: { Name: 'no' },
    },
  });
  await container.start();
  return true;
}

async function removeLabelled(docker: Dockerode): Promise<void> {
  const leftovers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL}=${RUN}`] },
  });
  for (const c of leftovers) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  await docker.ping();
  const db = await freshDatabase('compute');
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-compute-'));
  const base = loadConfig({
    LOG_LEVEL: 'silent',
    NIMBUS_DOCKER: 'docker',
    NIMBUS_OVS: 'simulated',
    NIMBUS_AUTH_RATE_LIMIT: '100000',
    NIMBUS_API_RATE_LIMIT: '1000000',
    NIMBUS_CONTAINER_LABEL: `${LABEL}=${RUN}`,
    NIMBUS_QUOTA_INSTANCES: String(INSTANCES + 10),
    NIMBUS_QUOTA_VCPUS: String(INSTANCES + 10),
    NIMBUS_QUOTA_MEMORY_MB: String((INSTANCES + 10) * 1024),
  });
  const config: AppConfig = { ...base, dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0 };
  const app = await createApp(config, { logger: createRootLogger('silent') });
  try {
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (!address || typeof address !== 'object') throw new Error('server has no address');
    const url = `http://127.0.0.1:${address.port}`;
    const runtime = app.get<SagaRuntime>(SAGA_RUNTIME);

    const email = `bench-${Date.now()}@example.com`;
    await postJson(url, '/auth/register', {
      email,
      password: 'bench-password-9f3k',
      name: 'Bench',
    });
    const login = await postJson(url, '/auth/login', { email, password: 'bench-password-9f3k' });
    const auth = { 'x-api-key': String(login.body.api_key) };

    const launchOne = async (name: string): Promise<{ ms: number; status: string }> => {
      const started = performance.now();
      const res = await postJson(
        url,
        '/instances',
        { name, image: 'busybox', instance_type: 'basic-1' },
        auth,
      );
      if (res.status !== 202)
        throw new Error(`launch answered ${res.status}: ${JSON.stringify(res.body)}`);
      const saga = await runtime.whenSettled(INSTANCE_LAUNCH_SAGA, String(res.body.id), 60_000);
      return { ms: performance.now() - started, status: saga.status };
    };

    console.log(
      `launch-to-RUNNING on real Docker: ${INSTANCES} instances, ${CONCURRENCY} at a time, database ${db.server}`,
    );
    // Warm-up (JIT, pools, the engine's image cache): not measured.
    await launchOne('warm-up');

    // The engine's own floor first, on the same engine, image and concurrency.
    await rawCreateStart(docker, `${RUN}-raw-warm-up`);
    const raw = await timedPool(INSTANCES, CONCURRENCY, (i) =>
      rawCreateStart(docker, `${RUN}-raw-${i}`),
    );
    const rawResult = summarise(raw.samples);
    await removeLabelled(docker);
    console.log(
      `raw docker create+start  p50 ${rawResult.p50} ms  p95 ${rawResult.p95} ms  min ${rawResult.min} ms  max ${rawResult.max} ms`,
    );

    const launched = await timedPool(INSTANCES, CONCURRENCY, async (i) => {
      const { status } = await launchOne(`bench-${i}`);
      return status === 'completed';
    });
    const latencies = [...launched.samples].sort((a, b) => a - b);
    const failures = launched.failures;
    const wallMs = launched.wallMs;
    const result = summarise(latencies);
    console.log(
      `launch-to-RUNNING        p50 ${result.p50} ms  p95 ${result.p95} ms  min ${result.min} ms  max ${result.max} ms  (${latencies.length} ok, ${failures} failed, ${(INSTANCES / (wallMs / 1000)).toFixed(2)} launches/s)`,
    );
    const ratio = result.p50 / rawResult.p50;
    console.log(
      `launch p50 / raw create+start p50 = ${ratio.toFixed(2)} (aim: at most 2) -> ${ratio <= 2 ? 'met' : 'NOT met'}`,
    );
    const file = writeResults('compute', {
      bench: 'compute',
      at: new Date().toISOString(),
      environment: environment(),
      postgres: { server: db.server, ...(await serverSettings(db.url)) },
      docker: (await docker.version()).Version,
      instances: INSTANCES,
      concurrency: CONCURRENCY,
      instanceType: 'basic-1',
      launchToRunningMs: result,
      rawCreateStartMs: rawResult,
      ratioToRaw: Number(ratio.toFixed(3)),
      samplesMs: latencies.map((x) => Math.round(x)),
      failures,
      launchesPerSecond: Number((INSTANCES / (wallMs / 1000)).toFixed(2)),
    });
    console.log(`results written to ${file}`);
  } finally {
    await app.close();
    await removeLabelled(docker);
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
