/**
 * PostgreSQL databases on nimbus/postgres:<major> (docker/engine-images/postgres-15): the server
 * in `nimbus-db-<id>` on the volume `nimbus-db-<id>-data`, pgbouncer in `nimbus-db-<id>-pgbouncer`
 * and the Prometheus exporter in `nimbus-db-<id>-exporter`, both sharing the volume's socket
 * directory (the exporter logs in over the socket, which trusts local connections: it holds no
 * password). Passwords reach the containers only as SCRAM-SHA-256
 * verifiers (what the server stores anyway); administration goes through `docker exec` on the
 * server's unix socket (trusted inside the container only).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';

import { ENGINE_HOST, EngineContainers } from './engine-containers';

export const POSTGRES_IMAGES: Readonly<Record<string, string>> = { '15': 'nimbus/postgres:15' };
const DATA_MOUNT = '/var/lib/nimbus';
const SOCKET_DIR = `${DATA_MOUNT}/run`;
/** Where a snapshot's dump is written and read inside a server's container (beside pgdata). */
const DUMP_PATH = `${DATA_MOUNT}/nimbus-snapshot.dump`;

export function databaseContainerName(databaseId: string): string {
  return `nimbus-db-${databaseId}`;
}
export function poolerContainerName(databaseId: string): string {
  return `nimbus-db-${databaseId}-pgbouncer`;
}
export function exporterContainerName(databaseId: string): string {
  return `nimbus-db-${databaseId}-exporter`;
}
export function databaseVolumeName(databaseId: string): string {
  return `nimbus-db-${databaseId}-data`;
}

export interface ReplicaSpec {
  replicaId: string;
  tenantId: string;
  version: string;
  primary: DatabaseAddress;
  slot: string;
  replicationPassword: string;
}

export interface ReplicationLag {
  /** `pg_stat_replication` of the slot's walsender on the primary: replay position behind. */
  bytes: number | null;
  seconds: number | null;
  /** The walsender's state (`streaming`, `catchup`...), null while the replica is not connected. */
  state: string | null;
}

/** RFC 5803 / PostgreSQL's stored form of a SCRAM-SHA-256 password. */
export function scramVerifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = 4096,
): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export interface DatabaseAddress {
  host: string;
  port: number;
}

export interface DatabaseRuntime {
  running: boolean;
  server: DatabaseAddress;
  poolerPort: number | null;
  exporterPort: number | null;
  poolerRunning: boolean;
}

export interface PrimarySpec {
  databaseId: string;
  tenantId: string;
  version: string;
  user: string;
  dbName: string;
  password: string;
}

/** What the data context needs from a database engine (its port DatabaseEngine). */
export interface DatabaseEngineDriver {
  image(version: string): string;
  ensurePrimary(spec: PrimarySpec): Promise<DatabaseAddress>;
  waitReady(
    address: DatabaseAddress,
    login: { user: string; password: string; dbName: string },
    signal?: AbortSignal,
  ): Promise<void>;
  applyParameters(
    databaseId: string,
    user: string,
    parameters: Record<string, string>,
    restart: boolean,
  ): Promise<void>;
  ensurePooler(spec: {
    databaseId: string;
    tenantId: string;
    version: string;
    user: string;
    password: string;
  }): Promise<number>;
  removePooler(databaseId: string): Promise<void>;
  /** prometheus-postgres-exporter on 127.0.0.1; its port (kept when it exists already). */
  ensureExporter(spec: {
    databaseId: string;
    tenantId: string;
    version: string;
    user: string;
  }): Promise<number>;
  removeExporter(databaseId: string): Promise<void>;
  setPassword(databaseId: string, user: string, password: string): Promise<void>;
  /** On the primary: the replication role (password as a SCRAM verifier) and its physical slot. */
  ensureReplicationSource(
    primaryId: string,
    owner: string,
    slot: string,
    password: string,
  ): Promise<void>;
  /** Slot and role dropped on the primary, if present; skipped while its server is not running. */
  dropReplicationSource(primaryId: string, owner: string, slot: string): Promise<void>;
  /**
   * The replica's volume filled by pg_basebackup -R from the primary, then its server (hot
   * standby). A volume whose copy did not finish is made again from scratch.
   */
  ensureReplica(spec: ReplicaSpec): Promise<DatabaseAddress>;
  /** pg_promote() unless the server is already out of recovery. */
  promote(databaseId: string, owner: string): Promise<void>;
  replicationLag(primaryId: string, owner: string, slot: string): Promise<ReplicationLag | null>;
  /**
   * A logical copy of `sqlDatabase` (`pg_dump -Fc`, consistent as of its start, taken while the
   * server runs) written to `file` on the host as a tar of one `.dump` file: `.partial` first,
   * fsynced, then renamed. Returns the file's size and SHA-256.
   */
  dump(
    databaseId: string,
    owner: string,
    sqlDatabase: string,
    file: string,
  ): Promise<{ sizeBytes: number; sha256: string }>;
  /** Restores such a file into `sqlDatabase` (`pg_restore --clean --if-exists`: repeatable). */
  restore(databaseId: string, owner: string, sqlDatabase: string, file: string): Promise<void>;
  stop(databaseId: string): Promise<void>;
  start(databaseId: string): Promise<void>;
  describe(databaseId: string): Promise<DatabaseRuntime | null>;
  /** Containers and the data volume: delete-if-present. */
  remove(databaseId: string): Promise<void>;
  /** Database ids that have a container on this installation (for drift checks). */
  list(): Promise<string[]>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PostgresEngine implements DatabaseEngineDriver {
  constructor(private readonly containers: EngineContainers) {}

  image(version: string): string {
    const image = POSTGRES_IMAGES[version];
    if (!image) throw new Error(`no image for PostgreSQL ${version}`);
    return image;
  }

  async ensurePrimary(spec: PrimarySpec): Promise<DatabaseAddress> {
    const volume = databaseVolumeName(spec.databaseId);
    await this.containers.ensureVolume(volume, {
      'nimbus.engine-resource': spec.databaseId,
      'nimbus.engine-kind': 'database',
      'nimbus.tenant': spec.tenantId,
    });
    const verifier = scramVerifier(spec.password);
    const container = await this.containers.ensureRunning({
      name: databaseContainerName(spec.databaseId),
      image: this.image(spec.version),
      engine: 'postgres',
      kind: 'database',
      resourceId: spec.databaseId,
      tenantId: spec.tenantId,
      role: 'server',
      cmd: ['primary'],
      volume: { name: volume, mountPath: DATA_MOUNT },
      env: (port) => [
        `NIMBUS_PG_PORT=${port}`,
        `NIMBUS_PG_USER=${spec.user}`,
        `NIMBUS_PG_DB=${spec.dbName}`,
        // Used by the first start's initdb only; rotations set the password through the socket.
        `NIMBUS_PG_VERIFIER=${verifier}`,
      ],
    });
    return { host: ENGINE_HOST, port: container.port };
  }

  async waitReady(
    address: DatabaseAddress,
    login: { user: string; password: string; dbName: string },
    signal?: AbortSignal,
  ): Promise<void> {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 1200; attempt++) {
      if (signal?.aborted) break;
      const client = new Client({
        host: address.host,
        port: address.port,
        user: login.user,
        password: login.password,
        database: login.dbName,
        connectionTimeoutMillis: 2000,
      });
      // A server going down while connected (57P01) fails the query, which says so; without a
      // listener the client's 'error' event would also end the process.
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch (error) {
        lastError = error;
      } finally {
        await client.end().catch(() => undefined);
      }
      await sleep(250);
    }
    throw new Error(
      `PostgreSQL on ${address.host}:${address.port} did not accept connections: ${String(lastError)}`,
    );
  }

  private async psql(databaseId: string, user: string, sql: string): Promise<string> {
    const name = databaseContainerName(databaseId);
    const c = await this.containers.inspect(name);
    if (!c) throw new Error(`container ${name} is missing`);
    const { exitCode, output } = await this.containers.exec(name, [
      '/usr/lib/postgresql/15/bin/psql',
      '-h',
      SOCKET_DIR,
      '-p',
      String(c.port),
      '-U',
      user,
      '-d',
      'postgres',
      '-v',
      'ON_ERROR_STOP=1',
      '-Atq',
      '-c',
      sql,
    ]);
    if (exitCode !== 0)
      throw new Error(`psql in ${name} failed (${exitCode}): ${output.trim().slice(0, 500)}`);
    return output;
  }

  async applyParameters(
    databaseId: string,
    user: string,
    parameters: Record<string, string>,
    restart: boolean,
  ): Promise<void> {
    for (const [name, value] of Object.entries(parameters)) {
      // Names come from the allow-list and values match its patterns: no quote can occur.
      if (!/^[a-z_]+$/.test(name) || /['\\]/.test(value))
        throw new Error(`refusing parameter ${name}`);
      await this.psql(databaseId, user, `ALTER SYSTEM SET ${name} = '${value}'`);
    }
    if (restart) await this.containers.restart(databaseContainerName(databaseId));
    else await this.psql(databaseId, user, 'SELECT pg_reload_conf()');
  }

  async ensurePooler(spec: {
    databaseId: string;
    tenantId: string;
    version: string;
    user: string;
    password: string;
  }): Promise<number> {
    const server = await this.containers.inspect(databaseContainerName(spec.databaseId));
    if (!server) throw new Error(`database container of ${spec.databaseId} is missing`);
    const name = poolerContainerName(spec.databaseId);
    const existing = await this.containers.inspect(name);
    const verifier = scramVerifier(spec.password);
    // Made again on every call: its userlist carries the current verifier; the port stays.
    if (existing) await this.containers.remove(name);
    const pooler = await this.containers.ensureRunning({
      name,
      image: this.image(spec.version),
      engine: 'postgres',
      kind: 'database',
      resourceId: spec.databaseId,
      tenantId: spec.tenantId,
      role: 'pgbouncer',
      cmd: ['pgbouncer'],
      volume: { name: databaseVolumeName(spec.databaseId), mountPath: DATA_MOUNT },
      ...(existing ? { port: existing.port } : {}),
      env: (port) => [
        `NIMBUS_PG_PORT=${server.port}`,
        `NIMBUS_BOUNCER_PORT=${port}`,
        `NIMBUS_PG_USER=${spec.user}`,
        `NIMBUS_PG_VERIFIER=${verifier}`,
      ],
    });
    return pooler.port;
  }

  removePooler(databaseId: string): Promise<void> {
    return this.containers.remove(poolerContainerName(databaseId));
  }

  async ensureExporter(spec: {
    databaseId: string;
    tenantId: string;
    version: string;
    user: string;
  }): Promise<number> {
    const server = await this.containers.inspect(databaseContainerName(spec.databaseId));
    if (!server) throw new Error(`database container of ${spec.databaseId} is missing`);
    const exporter = await this.containers.ensureRunning({
      name: exporterContainerName(spec.databaseId),
      image: this.image(spec.version),
      engine: 'postgres',
      kind: 'database',
      resourceId: spec.databaseId,
      tenantId: spec.tenantId,
      role: 'exporter',
      cmd: ['exporter'],
      volume: { name: databaseVolumeName(spec.databaseId), mountPath: DATA_MOUNT },
      env: (port) => [
        `NIMBUS_PG_PORT=${server.port}`,
        `NIMBUS_EXPORTER_PORT=${port}`,
        `NIMBUS_PG_USER=${spec.user}`,
      ],
    });
    return exporter.port;
  }

  removeExporter(databaseId: string): Promise<void> {
    return this.containers.remove(exporterContainerName(databaseId));
  }

  async setPassword(databaseId: string, user: string, password: string): Promise<void> {
    const name = databaseContainerName(databaseId);
    const { exitCode, output } = await this.containers.exec(
      name,
      ['/usr/local/bin/nimbus-postgres', 'set-password', user],
      [`NIMBUS_PG_VERIFIER=${scramVerifier(password)}`],
    );
    if (exitCode !== 0)
      throw new Error(`setting the password in ${name} failed: ${output.trim().slice(0, 500)}`);
  }

  async ensureReplicationSource(
    primaryId: string,
    owner: string,
    slot: string,
    password: string,
  ): Promise<void> {
    if (!/^[a-z0-9_]+$/.test(slot)) throw new Error(`refusing slot name ${slot}`);
    // A SCRAM verifier is base64, digits, '$' and ':': no quote can occur.
    const verifier = scramVerifier(password);
    await this.psql(
      primaryId,
      owner,
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${slot}') THEN
           CREATE ROLE ${slot} WITH REPLICATION LOGIN PASSWORD '${verifier}';
         ELSE
           ALTER ROLE ${slot} WITH REPLICATION LOGIN PASSWORD '${verifier}';
         END IF;
         IF NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${slot}') THEN
           PERFORM pg_create_physical_replication_slot('${slot}', true);
         END IF;
       END $$`,
    );
  }

  async dropReplicationSource(primaryId: string, owner: string, slot: string): Promise<void> {
    if (!/^[a-z0-9_]+$/.test(slot)) throw new Error(`refusing slot name ${slot}`);
    const server = await this.containers.inspect(databaseContainerName(primaryId));
    if (!server?.running) return;
    // A walsender still attached (a replica just promoted or removed) holds the slot a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.psql(
          primaryId,
          owner,
          `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
             WHERE slot_name = '${slot}' AND active_pid IS NOT NULL;
           SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
             WHERE slot_name = '${slot}';
           DROP ROLE IF EXISTS ${slot}`,
        );
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await sleep(250);
      }
    }
  }

  async ensureReplica(spec: ReplicaSpec): Promise<DatabaseAddress> {
    const name = databaseContainerName(spec.replicaId);
    const volume = databaseVolumeName(spec.replicaId);
    const existing = await this.containers.inspect(name);
    if (existing && (await this.copied(name))) {
      if (!existing.running) await this.containers.start(name);
      return { host: ENGINE_HOST, port: existing.port };
    }
    // Removing the container also ends a pg_basebackup a killed process left running in it.
    await this.containers.remove(name);
    await this.containers.removeVolume(volume);
    await this.containers.ensureVolume(volume, {
      'nimbus.engine-resource': spec.replicaId,
      'nimbus.engine-kind': 'database',
      'nimbus.tenant': spec.tenantId,
    });
    const container = await this.containers.ensureRunning({
      name,
      image: this.image(spec.version),
      engine: 'postgres',
      kind: 'database',
      resourceId: spec.replicaId,
      tenantId: spec.tenantId,
      role: 'server',
      // Waits for a complete pgdata with standby.signal, then runs the server.
      cmd: ['replica'],
      volume: { name: volume, mountPath: DATA_MOUNT },
      env: (port) => [`NIMBUS_PG_PORT=${port}`],
    });
    const partial = `${DATA_MOUNT}/pgdata.partial`;
    // The host network namespace: the primary's 127.0.0.1 port is reachable from the container.
    const backup = await this.containers.exec(
      name,
      [
        '/usr/lib/postgresql/15/bin/pg_basebackup',
        '-h',
        spec.primary.host,
        '-p',
        String(spec.primary.port),
        '-U',
        spec.slot,
        '-D',
        partial,
        '-R',
        '-X',
        'stream',
        '-S',
        spec.slot,
        '-c',
        'fast',
        '-w',
      ],
      [`PGPASSWORD=${spec.replicationPassword}`],
    );
    if (backup.exitCode !== 0) {
      throw new Error(
        `pg_basebackup for ${spec.replicaId} failed (${backup.exitCode}): ${backup.output.trim().slice(0, 500)}`,
      );
    }
    // Only a finished copy gets the name the entrypoint waits for.
    const moved = await this.containers.exec(name, ['mv', partial, `${DATA_MOUNT}/pgdata`]);
    if (moved.exitCode !== 0) throw new Error(`moving the copy failed: ${moved.output.trim()}`);
    return { host: ENGINE_HOST, port: container.port };
  }

  /** Whether the replica's volume holds a finished copy (the server may then be running on it). */
  private async copied(name: string): Promise<boolean> {
    const c = await this.containers.inspect(name);
    if (!c) return false;
    if (!c.running) await this.containers.start(name);
    const { exitCode } = await this.containers.exec(name, [
      'test',
      '-s',
      `${DATA_MOUNT}/pgdata/PG_VERSION`,
    ]);
    return exitCode === 0;
  }

  async promote(databaseId: string, owner: string): Promise<void> {
    const inRecovery = (await this.psql(databaseId, owner, 'SELECT pg_is_in_recovery()')).trim();
    if (inRecovery === 't') {
      await this.psql(databaseId, owner, 'SELECT pg_promote(true, 60)');
    }
  }

  async replicationLag(
    primaryId: string,
    owner: string,
    slot: string,
  ): Promise<ReplicationLag | null> {
    if (!/^[a-z0-9_]+$/.test(slot)) throw new Error(`refusing slot name ${slot}`);
    const server = await this.containers.inspect(databaseContainerName(primaryId));
    if (!server?.running) return null;
    const out = (
      await this.psql(
        primaryId,
        owner,
        `SELECT coalesce(r.state, ''),
                coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint::text, ''),
                coalesce(extract(epoch FROM r.replay_lag)::text, '')
           FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
          WHERE s.slot_name = '${slot}'`,
      )
    ).trim();
    if (out === '') return null;
    const [state, bytes, seconds] = out.split('|');
    const lagBytes = bytes ? Number(bytes) : null;
    return {
      state: state || null,
      bytes: lagBytes,
      // replay_lag is NULL once a caught-up standby has been idle a while: nothing to replay.
      seconds: seconds ? Number(seconds) : lagBytes === 0 ? 0 : null,
    };
  }

  async dump(
    databaseId: string,
    owner: string,
    sqlDatabase: string,
    file: string,
  ): Promise<{ sizeBytes: number; sha256: string }> {
    const name = databaseContainerName(databaseId);
    const c = await this.containers.inspect(name);
    if (!c?.running) throw new Error(`container ${name} is not running`);
    const dumped = await this.containers.exec(name, [
      '/usr/lib/postgresql/15/bin/pg_dump',
      '-h',
      SOCKET_DIR,
      '-p',
      String(c.port),
      '-U',
      owner,
      '-d',
      sqlDatabase,
      '-Fc',
      '-f',
      DUMP_PATH,
    ]);
    if (dumped.exitCode !== 0) {
      throw new Error(`pg_dump in ${name} failed (${dumped.exitCode}): ${dumped.output.trim()}`);
    }
    try {
      await mkdir(dirname(file), { recursive: true });
      const partial = `${file}.partial`;
      const sha256 = createHash('sha256');
      let sizeBytes = 0;
      const counting = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          sha256.update(chunk);
          sizeBytes += chunk.length;
          done(null, chunk);
        },
      });
      const tar = await this.containers.readArchive(name, DUMP_PATH);
      await pipeline(tar, counting, createWriteStream(partial));
      const handle = await open(partial, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(partial, file);
      return { sizeBytes, sha256: sha256.digest('hex') };
    } finally {
      await this.containers.exec(name, ['rm', '-f', DUMP_PATH]);
    }
  }

  async restore(
    databaseId: string,
    owner: string,
    sqlDatabase: string,
    file: string,
  ): Promise<void> {
    const name = databaseContainerName(databaseId);
    const c = await this.containers.inspect(name);
    if (!c?.running) throw new Error(`container ${name} is not running`);
    await this.containers.writeArchive(name, DATA_MOUNT, createReadStream(file));
    try {
      const restored = await this.containers.exec(name, [
        '/usr/lib/postgresql/15/bin/pg_restore',
        '-h',
        SOCKET_DIR,
        '-p',
        String(c.port),
        '-U',
        owner,
        '-d',
        sqlDatabase,
        '--no-owner',
        `--role=${owner}`,
        '--clean',
        '--if-exists',
        '--exit-on-error',
        DUMP_PATH,
      ]);
      if (restored.exitCode !== 0) {
        throw new Error(
          `pg_restore in ${name} failed (${restored.exitCode}): ${restored.output.trim().slice(0, 500)}`,
        );
      }
    } finally {
      await this.containers.exec(name, ['rm', '-f', DUMP_PATH]);
    }
  }

  async stop(databaseId: string): Promise<void> {
    await this.containers.stop(exporterContainerName(databaseId));
    await this.containers.stop(poolerContainerName(databaseId));
    await this.containers.stop(databaseContainerName(databaseId));
  }

  async start(databaseId: string): Promise<void> {
    await this.containers.start(databaseContainerName(databaseId));
    for (const sidecar of [poolerContainerName(databaseId), exporterContainerName(databaseId)]) {
      if (await this.containers.inspect(sidecar)) await this.containers.start(sidecar);
    }
  }

  async describe(databaseId: string): Promise<DatabaseRuntime | null> {
    const server = await this.containers.inspect(databaseContainerName(databaseId));
    if (!server) return null;
    const pooler = await this.containers.inspect(poolerContainerName(databaseId));
    const exporter = await this.containers.inspect(exporterContainerName(databaseId));
    return {
      running: server.running,
      server: { host: ENGINE_HOST, port: server.port },
      poolerPort: pooler?.port ?? null,
      exporterPort: exporter?.port ?? null,
      poolerRunning: pooler?.running ?? false,
    };
  }

  async list(): Promise<string[]> {
    const rows = await this.containers.list('database');
    return [...new Set(rows.map((r) => r.labels['nimbus.engine-resource'] ?? ''))].filter(
      (id) => id !== '',
    );
  }

  async remove(databaseId: string): Promise<void> {
    await this.containers.remove(exporterContainerName(databaseId));
    await this.containers.remove(poolerContainerName(databaseId));
    await this.containers.remove(databaseContainerName(databaseId));
    await this.containers.removeVolume(databaseVolumeName(databaseId));
  }
}
