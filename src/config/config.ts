import { isAbsolute, resolve } from 'node:path';

export type DriverChoice = 'auto' | 'simulated';
export type DockerDriverChoice = DriverChoice | 'docker';
export type OvsDriverChoice = DriverChoice | 'ovs';
export type OvnDriverChoice = DriverChoice | 'ovn';
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
  /** NIMBUS_OVN: the network fabric (OVN on Open vSwitch, or simulated). */
  ovn: OvnDriverChoice;
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
  /** NIMBUS_JWT_SECRET: HS256 signing secret (>= 32 bytes, hex or base64); null: generated under dataDir/keys. */
  jwtSecret: Buffer | null;
  /** NIMBUS_MASTER_KEY: 32-byte master key wrapping per-user data keys; null: generated under dataDir/keys. */
  masterKey: Buffer | null;
  /** NIMBUS_API_KEY_PEPPER: HMAC pepper of API keys and email lookups (>= 32 bytes); null: generated. */
  apiKeyPepper: Buffer | null;
  /** NIMBUS_SESSION_KEY_TTL: lifetime of the API key minted at login, in milliseconds. */
  sessionKeyTtlMs: number;
  /** NIMBUS_ACCESS_TOKEN_TTL: lifetime of a JWT access token, in milliseconds. */
  accessTokenTtlMs: number;
  /** NIMBUS_AUTH_RATE_LIMIT: requests per minute per client address on the /auth endpoints. */
  authRateLimitPerMinute: number;
  /** NIMBUS_API_RATE_LIMIT: requests per minute per API key or user on every other route. */
  apiRateLimitPerMinute: number;
  /** NIMBUS_OPERATORS: emails of the platform operators (admin routes such as /admin/projections). */
  operatorEmails: string[];
  /** NIMBUS_WEBHOOKS_ALLOW_PRIVATE_TARGETS: webhook URLs may point at private, loopback or link-local addresses. */
  webhooksAllowPrivateTargets: boolean;
  /** NIMBUS_SMTP_URL: smtp:// or smtps:// server that delivers the mail outbox; null: .eml files only. */
  smtpUrl: string | null;
  /** NIMBUS_MAIL_FROM: the From of outgoing mail (`Name <address>` or a bare address). */
  mailFrom: string;
  /** NIMBUS_QUOTA_INSTANCES, _VCPUS, _MEMORY_MB, _VOLUMES: every tenant's default compute limits. */
  quota: { instances: number; vcpus: number; memoryMb: number; volumes: number };
  /** NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE: image imports may fetch from private or loopback addresses. */
  imageImportAllowPrivate: boolean;
  /** NIMBUS_COMPUTE_RECONCILE_INTERVAL_MS: period of the Docker drift reconcile. */
  computeReconcileIntervalMs: number;
  /** NIMBUS_COMPUTE_LOG_COLLECT_INTERVAL_MS: period of the console log collector. */
  computeLogCollectIntervalMs: number;
  /** NIMBUS_CONTAINER_LABEL: one extra `key=value` label on every container Nimbus creates. */
  containerLabel: { key: string; value: string } | null;
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
const OVN_CHOICES: readonly OvnDriverChoice[] = ['auto', 'ovn', 'simulated'];

export const DEFAULT_MAIL_FROM = 'Nimbus <no-reply@localhost>';

/** One environment variable: the README's configuration table is generated from these rows. */
export interface ConfigVariable {
  name: string;
  /** The README's default column (Markdown). */
  default: string;
  /** What the variable accepts, as error messages and the docs say it. */
  allowed: string;
  /** The README's "what it does" column (Markdown). */
  doc: string;
}

/**
 * Every variable Nimbus reads, declared once: `npm run docs:config` writes the README's table from
 * this list and scripts/check-readme-config.sh (run by CI) fails when the README differs.
 */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  {
    name: 'PORT',
    default: '`8080`',
    allowed: 'an integer 0..65535',
    doc: 'TCP port of the API (0..65535)',
  },
  {
    name: 'HOST',
    default: '`127.0.0.1`',
    allowed: 'a host name or IP address',
    doc: 'address the API binds to (`0.0.0.0` to listen on every interface)',
  },
  {
    name: 'DATABASE_URL',
    default: 'unset: embedded PostgreSQL',
    allowed: 'a postgres:// or postgresql:// URL',
    doc: '`postgres://` URL of the PostgreSQL that holds events (by default), read models, checkpoints and sagas',
  },
  {
    name: 'NIMBUS_EMBEDDED_PG_PORT',
    default: '`54329`',
    allowed: 'an integer 1..65535',
    doc: 'port of the embedded PostgreSQL, used only when `DATABASE_URL` is unset',
  },
  {
    name: 'EVENTSTORE_URL',
    default: 'unset: events in PostgreSQL',
    allowed: 'an esdb:// or esdb+discover:// connection string',
    doc: '`esdb://` connection string: store events in EventStoreDB instead (e.g. `esdb://127.0.0.1:2113?tls=false`)',
  },
  {
    name: 'NIMBUS_DATA_DIR',
    default: '`.nimbus`',
    allowed: 'a directory path',
    doc: 'where Nimbus keeps its own files (the embedded PostgreSQL under `pg/`)',
  },
  {
    name: 'NIMBUS_DOCKER',
    default: '`auto`',
    allowed: DOCKER_CHOICES.join(' | '),
    doc: '`auto` (Docker when it answers, else simulated), `docker` (required), `simulated`',
  },
  {
    name: 'NIMBUS_OVS',
    default: '`auto`',
    allowed: OVS_CHOICES.join(' | '),
    doc: '`auto` (Open vSwitch when it answers, else simulated), `ovs` (required), `simulated`',
  },
  {
    name: 'NIMBUS_OVN',
    default: '`auto`',
    allowed: OVN_CHOICES.join(' | '),
    doc: '`auto` (OVN, the network fabric, when it answers, else simulated), `ovn` (required), `simulated`',
  },
  {
    name: 'LOG_LEVEL',
    default: '`info`',
    allowed: LOG_LEVELS.join(' | '),
    doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`; logs are JSON lines on stdout',
  },
  {
    name: 'NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS',
    default: '`2000`',
    allowed: 'an integer 0..60000',
    doc: "how long a command's response waits for the projections to reach its events (then 202 with `Location`)",
  },
  {
    name: 'NIMBUS_BODY_LIMIT_BYTES',
    default: '`1048576`',
    allowed: 'an integer 1024..1073741824',
    doc: 'largest accepted request body',
  },
  {
    name: 'NIMBUS_PG_POOL_SIZE',
    default: '`10`',
    allowed: 'an integer 1..500',
    doc: "connections in the API's PostgreSQL pool",
  },
  {
    name: 'NIMBUS_IDEMPOTENCY_TTL_HOURS',
    default: '`24`',
    allowed: 'an integer 1..720',
    doc: 'how long an `Idempotency-Key` and its response are remembered',
  },
  {
    name: 'NIMBUS_JWT_SECRET',
    default: 'generated in `keys/`',
    allowed: 'at least 32 bytes, hex or base64',
    doc: 'HS256 secret of access tokens (at least 32 bytes, hex or base64); generated with mode 0600 when unset',
  },
  {
    name: 'NIMBUS_MASTER_KEY',
    default: 'generated in `keys/`',
    allowed: 'exactly 32 bytes, hex or base64',
    doc: "32-byte master key (hex or base64) wrapping each user's personal-data key (crypto-shredding)",
  },
  {
    name: 'NIMBUS_API_KEY_PEPPER',
    default: 'generated in `keys/`',
    allowed: 'at least 32 bytes, hex or base64',
    doc: 'HMAC pepper of API key hashes and email lookup hashes (at least 32 bytes)',
  },
  {
    name: 'NIMBUS_SESSION_KEY_TTL',
    default: '`30d`',
    allowed: 'a duration: 3600, 90s, 15m, 12h, 30d',
    doc: 'lifetime of the API key minted at login (`3600`, `90s`, `15m`, `12h`, `30d`)',
  },
  {
    name: 'NIMBUS_ACCESS_TOKEN_TTL',
    default: '`15m`',
    allowed: 'a duration: 3600, 90s, 15m, 12h, 30d',
    doc: 'lifetime of a JWT access token',
  },
  {
    name: 'NIMBUS_AUTH_RATE_LIMIT',
    default: '`5`',
    allowed: 'an integer 1..100000 (per minute per IP)',
    doc: 'requests per minute per client address on the `/auth` endpoints (in-process counter)',
  },
  {
    name: 'NIMBUS_API_RATE_LIMIT',
    default: '`1200`',
    allowed: 'an integer 1..1000000 (per minute per key or user)',
    doc: 'requests per minute per API key or user on every other route (in-process counter)',
  },
  {
    name: 'NIMBUS_OPERATORS',
    default: 'none',
    allowed: 'comma-separated emails',
    doc: 'comma-separated emails of platform operators (admin routes such as `GET /admin/projections`)',
  },
  {
    name: 'NIMBUS_WEBHOOKS_ALLOW_PRIVATE_TARGETS',
    default: '`false`',
    allowed: 'true | false',
    doc: '`true` lets webhook URLs point at private, loopback or link-local addresses (tests, closed networks)',
  },
  {
    name: 'NIMBUS_SMTP_URL',
    default: 'unset: `.eml` files',
    allowed: 'an smtp:// or smtps:// URL, optionally with user:password@',
    doc: '`smtp://user:pass@host:587` or `smtps://...`: deliver the mail outbox (`<data dir>/mail/`) over SMTP',
  },
  {
    name: 'NIMBUS_MAIL_FROM',
    default: 'see right',
    allowed: 'an address or Name <address>',
    doc: 'the From of outgoing mail (`Name <address>`); default `Nimbus <no-reply@localhost>`',
  },
  {
    name: 'NIMBUS_QUOTA_INSTANCES',
    default: '`10`',
    allowed: 'an integer 0..100000',
    doc: "every tenant's limit of live instances",
  },
  {
    name: 'NIMBUS_QUOTA_VCPUS',
    default: '`16`',
    allowed: 'an integer 0..100000',
    doc: "every tenant's limit of vCPUs across live instances",
  },
  {
    name: 'NIMBUS_QUOTA_MEMORY_MB',
    default: '`32768`',
    allowed: 'an integer 0..100000000',
    doc: "every tenant's limit of memory (MiB) across live instances",
  },
  {
    name: 'NIMBUS_QUOTA_VOLUMES',
    default: '`20`',
    allowed: 'an integer 0..100000',
    doc: "every tenant's limit of volumes",
  },
  {
    name: 'NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE',
    default: '`false`',
    allowed: 'true | false',
    doc: '`true` lets `POST /images/import` fetch from private or loopback addresses (tests, closed networks)',
  },
  {
    name: 'NIMBUS_COMPUTE_RECONCILE_INTERVAL_MS',
    default: '`15000`',
    allowed: 'an integer 100..3600000',
    doc: 'period of the drift reconcile between the instances and the Docker engine',
  },
  {
    name: 'NIMBUS_COMPUTE_LOG_COLLECT_INTERVAL_MS',
    default: '`10000`',
    allowed: 'an integer 100..3600000',
    doc: 'period of the console-output collector behind `GET /logs`',
  },
  {
    name: 'NIMBUS_CONTAINER_LABEL',
    default: 'none',
    allowed: 'key=value',
    doc: 'one extra `key=value` label on every container Nimbus creates (tests use it to clean up)',
  },
];

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

  const keyValue = (name: string): { key: string; value: string } | null => {
    const raw = read(name);
    if (raw === undefined) return null;
    const eq = raw.indexOf('=');
    const key = eq > 0 ? raw.slice(0, eq) : '';
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key)) {
      problems.push(`${name}=${JSON.stringify(raw)} is not allowed: expected key=value`);
      return null;
    }
    return { key, value: raw.slice(eq + 1) };
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

  /** Key material: hex (even length) or base64/base64url, at least `min` (exactly `exact`) bytes. */
  const secret = (name: string, min: number, exact: number | null): Buffer | null => {
    const raw = read(name);
    if (raw === undefined) return null;
    const bytes = /^(?:[0-9a-fA-F]{2})+$/.test(raw)
      ? Buffer.from(raw, 'hex')
      : /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)
        ? Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
        : null;
    const wanted = exact === null ? `at least ${min}` : `exactly ${exact}`;
    if (!bytes || bytes.length < min || (exact !== null && bytes.length !== exact)) {
      problems.push(`${name} is not allowed: expected ${wanted} bytes, hex or base64`);
      return null;
    }
    return bytes;
  };

  const duration = (name: string, fallback: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const ms = parseDurationMs(raw);
    if (ms === null || ms < 1000 || ms > 366 * 86_400_000) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is not allowed: expected a duration of 1s..366d such as 3600, 90s, 15m, 12h, 30d`,
      );
      return fallback;
    }
    return ms;
  };

  const mailFrom = read('NIMBUS_MAIL_FROM') ?? DEFAULT_MAIL_FROM;
  if (mailAddressOf(mailFrom) === null) {
    problems.push(
      `NIMBUS_MAIL_FROM=${JSON.stringify(mailFrom)} is not allowed: expected an address or Name <address>`,
    );
  }

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
    ovn: oneOf('NIMBUS_OVN', 'auto', OVN_CHOICES),
    logLevel: oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    readYourWritesTimeoutMs: int('NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS', 2000, 0, 60_000),
    bodyLimitBytes: int('NIMBUS_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    pgPoolSize: int('NIMBUS_PG_POOL_SIZE', 10, 1, 500),
    idempotencyTtlHours: int('NIMBUS_IDEMPOTENCY_TTL_HOURS', 24, 1, 720),
    jwtSecret: secret('NIMBUS_JWT_SECRET', 32, null),
    masterKey: secret('NIMBUS_MASTER_KEY', 32, 32),
    apiKeyPepper: secret('NIMBUS_API_KEY_PEPPER', 32, null),
    sessionKeyTtlMs: duration('NIMBUS_SESSION_KEY_TTL', 30 * 86_400_000),
    accessTokenTtlMs: duration('NIMBUS_ACCESS_TOKEN_TTL', 15 * 60_000),
    authRateLimitPerMinute: int('NIMBUS_AUTH_RATE_LIMIT', 5, 1, 100_000),
    apiRateLimitPerMinute: int('NIMBUS_API_RATE_LIMIT', 1200, 1, 1_000_000),
    operatorEmails: (read('NIMBUS_OPERATORS') ?? '')
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .filter((e) => e.length > 0),
    webhooksAllowPrivateTargets:
      oneOf('NIMBUS_WEBHOOKS_ALLOW_PRIVATE_TARGETS', 'false', ['true', 'false']) === 'true',
    smtpUrl: url('NIMBUS_SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom,
    quota: {
      instances: int('NIMBUS_QUOTA_INSTANCES', 10, 0, 100_000),
      vcpus: int('NIMBUS_QUOTA_VCPUS', 16, 0, 100_000),
      memoryMb: int('NIMBUS_QUOTA_MEMORY_MB', 32_768, 0, 100_000_000),
      volumes: int('NIMBUS_QUOTA_VOLUMES', 20, 0, 100_000),
    },
    imageImportAllowPrivate:
      oneOf('NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE', 'false', ['true', 'false']) === 'true',
    computeReconcileIntervalMs: int('NIMBUS_COMPUTE_RECONCILE_INTERVAL_MS', 15_000, 100, 3_600_000),
    computeLogCollectIntervalMs: int(
      'NIMBUS_COMPUTE_LOG_COLLECT_INTERVAL_MS',
      10_000,
      100,
      3_600_000,
    ),
    containerLabel: keyValue('NIMBUS_CONTAINER_LABEL'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * The address of a From value: `Name <user@host>` or `user@host`; null when it is neither (or
 * holds a line break, which would let it inject headers).
 */
export function mailAddressOf(from: string): string | null {
  if (/[\r\n]/.test(from)) return null;
  const m = /^(?:[^<>]*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))$/.exec(from.trim());
  return m ? (m[1] ?? m[2]) : null;
}

/** `3600` (seconds), `90s`, `15m`, `12h`, `30d` in milliseconds; null when unreadable. */
export function parseDurationMs(raw: string): number | null {
  const m = /^(\d{1,9})(s|m|h|d)?$/.exec(raw.trim());
  if (!m) return null;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's'] ?? 1000;
  return Number(m[1]) * unit;
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
