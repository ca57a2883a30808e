/**
 * PostgreSQL databases on nimbus/postgres:<major> (docker/engine-images/postgres-15): the server
 * in `nimbus-db-<id>` on the volume `nimbus-db-<id>-data`, pgbouncer in `nimbus-db-<id>-pgbouncer`
 * sharing the volume's socket directory. Passwords reach the containers only as SCRAM-SHA-256
 * verifiers (what the server stores anyway); administration goes through `docker exec` on the
 * server's unix socket (trusted inside the container only).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Client } from 'pg';

import { ENGINE_HOST, EngineContainers } from './engine-containers';

export const POSTGRES_IMAGES: Readonly<Record<string, string>> = { '15': 'nimbus/postgres:15' };
const DATA_MOUNT = '/var/lib/nimbus';
const SOCKET_DIR = `${DATA_MOUNT}/run`;

export function databaseContainerName(databaseId: string): string {
  return `nimbus-db-${databaseId}`;
}
export function poolerContainerName(databaseId: string): string {
  return `nimbus-db-${databaseId}-pgbouncer`;
}
export function databaseVolumeName(databaseId: string): string {
  return `nimbus-db-${databaseId}-data`;
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
  setPassword(databaseId: string, user: string, password: string): Promise<void>;
  stop(databaseId: string): Promise<void>;
  start(databaseId: string): Promise<void>;
  describe(databaseId: string): Promise<DatabaseRuntime | null>;
  /** Containers and the data volume: delete-if-present. */
  remove(databaseId: string): Promise<void>;
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

  async stop(databaseId: string): Promise<void> {
    await this.containers.stop(poolerContainerName(databaseId));
    await this.containers.stop(databaseContainerName(databaseId));
  }

  async start(databaseId: string): Promise<void> {
    await this.containers.start(databaseContainerName(databaseId));
    if (await this.containers.inspect(poolerContainerName(databaseId))) {
      await this.containers.start(poolerContainerName(databaseId));
    }
  }

  async describe(databaseId: string): Promise<DatabaseRuntime | null> {
    const server = await this.containers.inspect(databaseContainerName(databaseId));
    if (!server) return null;
    const pooler = await this.containers.inspect(poolerContainerName(databaseId));
    return {
      running: server.running,
      server: { host: ENGINE_HOST, port: server.port },
      poolerPort: pooler?.port ?? null,
    };
  }

  async remove(databaseId: string): Promise<void> {
    await this.containers.remove(poolerContainerName(databaseId));
    await this.containers.remove(databaseContainerName(databaseId));
    await this.containers.removeVolume(databaseVolumeName(databaseId));
  }
}
