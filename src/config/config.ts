import { isAbsolute, resolve } from 'node:path';

export type DriverChoice = 'auto' | 'simulated';
export type DockerDriverChoice = DriverChoice | 'docker';
export type OvsDriverChoice = DriverChoice | 'ovs';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The application's configuration, read once from the environment at start-up. */
export interface AppConfig {
  /** PORT: TCP port the API listens on. */
  port: number;
  /** HOST: address the API binds to. */
  host: string;
  /** DATABASE_URL: external PostgreSQL; null means an embedded server under dataDir/pg. */
  databaseUrl: string | null;
  /** NIMBUS_EMBEDDED_PG_PORT: port of the embedded PostgreSQL when databaseUrl is null. */
  embeddedPgPort: number;
  /** Name of the database created on the embedded server. */
  embeddedPgDatabase: string;
  /** EVENTSTORE_URL: an esdb:// connection string selects EventStoreDB; null keeps PostgreSQL. */
  eventStoreUrl: string | null;
  /** NIMBUS_DATA_DIR, resolved to an absolute path. */
  dataDir: string;
  /** NIMBUS_DOCKER */
  docker: DockerDriverChoice;
  /** NIMBUS_OVS */
  ovs: OvsDriverChoice;
  /** LOG_LEVEL */
  logLevel: LogLevel;
  /** NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS: how long a command response waits for projections. */
  readYourWritesTimeoutMs: number;
  /** NIMBUS_BODY_LIMIT_BYTES: largest accepted request body. */
  bodyLimitBytes: number;
  /** NIMBUS_PG_POOL_SIZE: connections in the application's pg Pool. */
  pgPoolSize: number;
  /** NIMBUS_IDEMPOTENCY_TTL_HOURS: how long an Idempotency-Key is remembered. */
  idempotencyTtlHours: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
const DOCKER_CHOICES: readonly DockerDriverChoice[] = ['auto', 'docker', 'simulated'];
const OVS_CHOICES: readonly OvsDriverChoice[] = ['auto', 'ovs', 'simulated'];

/** One row per variable: the README's configuration table is written from this list. */
export const CONFIG_VARIABLES = [
  { name: 'PORT', default: '8080', allowed: 'an integer 0..65535' },
  { name: 'HOST', default: '127.0.0.1', allowed: 'a host name or IP address' },
  {
    name: 'DATABASE_URL',
    default: '(unset: embedded PostgreSQL)',
    allowed: 'a postgres:// or postgresql:// URL',
  },
  { name: 'NIMBUS_EMBEDDED_PG_PORT', default: '54329', allowed: 'an integer 1..65535' },
  {
    name: 'EVENTSTORE_URL',
    default: '(unset: events in PostgreSQL)',
    allowed: 'an esdb:// or esdb+discover:// connection string',
  },
  { name: 'NIMBUS_DATA_DIR', default: '.nimbus', allowed: 'a directory path' },
  { name: 'NIMBUS_DOCKER', default: 'auto', allowed: DOCKER_CHOICES.join(' | ') },
  { name: 'NIMBUS_OVS', default: 'auto', allowed: OVS_CHOICES.join(' | ') },
  { name: 'LOG_LEVEL', default: 'info', allowed: LOG_LEVELS.join(' | ') },
  { name: 'NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS', default: '2000', allowed: 'an integer 0..60000' },
  {
    name: 'NIMBUS_BODY_LIMIT_BYTES',
    default: '1048576',
    allowed: 'an integer 1024..1073741824',
  },
  { name: 'NIMBUS_PG_POOL_SIZE', default: '10', allowed: 'an integer 1..500' },
  { name: 'NIMBUS_IDEMPOTENCY_TTL_HOURS', default: '24', allowed: 'an integer 1..720' },
] as const;

/**
 * Reads and validates the configuration. Pure: the same environment gives the same result, and
 * every problem is reported at once, each naming its variable and what it accepts.
 */
export function loadConfig(env: Env, cwd: string = process.cwd()): AppConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is not allowed: expected an integer ${min}..${max}`,
      );
      return fallback;
    }
    return Number(raw);
  };

  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const lower = raw.toLowerCase();
    if (!(allowed as readonly string[]).includes(lower)) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is not allowed: expected one of ${allowed.join(', ')}`,
      );
      return fallback;
    }
    return lower as T;
  };

  const url = (name: string, protocols: readonly string[]): string | null => {
    const raw = read(name);
    if (raw === undefined) return null;
    let parsed: URL | null;
    try {
      parsed = new URL(raw);
    } catch {
      parsed = null;
    }
    if (!parsed || !protocols.includes(parsed.protocol)) {
      problems.push(
        `${name}=${JSON.stringify(redact(raw))} is not allowed: expected a URL starting with ${protocols
          .map((p) => `${p}//`)
          .join(' or ')}`,
      );
      return null;
    }
    return raw;
  };

  const host = read('HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:_[\]-]+$/.test(host)) {
    problems.push(
      `HOST=${JSON.stringify(host)} is not allowed: expected a host name or IP address`,
    );
  }
  const dataDirRaw = read('NIMBUS_DATA_DIR') ?? '.nimbus';

  const config: AppConfig = {
    port: int('PORT', 8080, 0, 65535),
    host,
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    embeddedPgPort: int('NIMBUS_EMBEDDED_PG_PORT', 54329, 1, 65535),
    embeddedPgDatabase: 'nimbus',
    eventStoreUrl: url('EVENTSTORE_URL', ['esdb:', 'esdb+discover:']),
    dataDir: isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw),
    docker: oneOf('NIMBUS_DOCKER', 'auto', DOCKER_CHOICES),
    ovs: oneOf('NIMBUS_OVS', 'auto', OVS_CHOICES),
    logLevel: oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    readYourWritesTimeoutMs: int('NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS', 2000, 0, 60_000),
    bodyLimitBytes: int('NIMBUS_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    pgPoolSize: int('NIMBUS_PG_POOL_SIZE', 10, 1, 500),
    idempotencyTtlHours: int('NIMBUS_IDEMPOTENCY_TTL_HOURS', 24, 1, 720),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Hides the password of a connection string before it reaches a log line or an error. */
export function redact(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return connectionString.replace(/:[^:@/]*@/, ':***@');
  }
}
