import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The configuration, declared once: every environment variable Nimbus reads is one entry of
 * `CONFIG_SCHEMA` below, which gives its validation, its default, its type (`AppConfig` is derived
 * from it) and its README row (`npm run docs:config` writes the table from the schema and
 * scripts/check-readme-config.sh, run by CI, fails when the README differs).
 */

/** The README row of one variable, registered beside its schema. */
export interface VariableDoc {
  /** The README's "what it does" column (Markdown). */
  doc: string;
  /** The README's default column (Markdown); when absent, the schema's default in backticks. */
  default?: string;
  /** How a refused value is shown in the error: the URL with its password hidden, or not at all. */
  echo?: 'redacted' | 'never';
}

/** The metadata registry of the configuration schema: one VariableDoc per variable. */
export const CONFIG_DOCS = z.registry<VariableDoc>();

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_MAIL_FROM = 'Nimbus <no-reply@localhost>';

// Each builder's error text completes "NAME=value is not allowed: expected ...".

const integer = (min: number, max: number) =>
  z
    .string()
    .refine((s) => /^\d+$/.test(s) && Number(s) >= min && Number(s) <= max, {
      error: `an integer ${min}..${max}`,
    })
    .transform(Number);

/** One of a few words, case-insensitive; the value is the word in lower case. */
const oneOf = <const T extends readonly [string, ...string[]]>(choices: T) =>
  z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(choices, { error: `one of ${choices.join(', ')}` }));

const flag = () => oneOf(['true', 'false']).transform((v) => v === 'true');

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (raw) => {
      try {
        return protocols.includes(new URL(raw).protocol);
      } catch {
        return false;
      }
    },
    { error: `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** Key material: hex (even length) or base64/base64url, at least `min` (exactly `exact`) bytes. */
const secret = (min: number, exact: number | null) =>
  z.string().transform((raw, ctx) => {
    const bytes = /^(?:[0-9a-fA-F]{2})+$/.test(raw)
      ? Buffer.from(raw, 'hex')
      : /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)
        ? Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
        : null;
    if (!bytes || bytes.length < min || (exact !== null && bytes.length !== exact)) {
      ctx.addIssue({
        code: 'custom',
        message: `${exact === null ? `at least ${min}` : `exactly ${exact}`} bytes, hex or base64`,
      });
      return z.NEVER;
    }
    return bytes;
  });

/** A duration of 1s..366d in milliseconds. */
const duration = () =>
  z.string().transform((raw, ctx) => {
    const ms = parseDurationMs(raw);
    if (ms === null || ms < 1000 || ms > 366 * 86_400_000) {
      ctx.addIssue({
        code: 'custom',
        message: 'a duration of 1s..366d such as 3600, 90s, 15m, 12h, 30d',
      });
      return z.NEVER;
    }
    return ms;
  });

const keyValue = () =>
  z
    .string()
    .refine(
      (raw) => /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(raw.slice(0, Math.max(raw.indexOf('='), 0))),
      {
        error: 'key=value',
      },
    )
    .transform((raw) => ({
      key: raw.slice(0, raw.indexOf('=')),
      value: raw.slice(raw.indexOf('=') + 1),
    }));

/** `a.b.c.d/n` with n in range (that it is a network address, the networking module checks). */
const ipv4Block = (minPrefix: number, maxPrefix: number) =>
  z.string().refine(
    (raw) => {
      const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw);
      return (
        m !== null &&
        m.slice(1, 5).every((octet) => Number(octet) <= 255 && String(Number(octet)) === octet) &&
        Number(m[5]) >= minPrefix &&
        Number(m[5]) <= maxPrefix
      );
    },
    { error: `an IPv4 block a.b.c.d/n, /${minPrefix} to /${maxPrefix}` },
  );

const DRIVER_DOC = (what: string, word: string) =>
  `\`auto\` (${what} when it answers, else simulated), \`${word}\` (required), \`simulated\``;

/**
 * Every variable Nimbus reads, in README order. A variable is unset when absent or blank; values
 * are trimmed before they are read.
 */
export const CONFIG_SCHEMA = z.object({
  PORT: integer(0, 65535)
    .prefault('8080')
    .register(CONFIG_DOCS, { doc: 'TCP port of the API (0..65535)' }),
  HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:_[\]-]+$/, { error: 'a host name or IP address' })
    .prefault('127.0.0.1')
    .register(CONFIG_DOCS, {
      doc: 'address the API binds to (`0.0.0.0` to listen on every interface)',
    }),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional().register(CONFIG_DOCS, {
    default: 'unset: embedded PostgreSQL',
    doc: '`postgres://` URL of the PostgreSQL that holds events (by default), read models, checkpoints and sagas',
    echo: 'redacted',
  }),
  NIMBUS_EMBEDDED_PG_PORT: integer(1, 65535).prefault('54329').register(CONFIG_DOCS, {
    doc: 'port of the embedded PostgreSQL, used only when `DATABASE_URL` is unset',
  }),
  EVENTSTORE_URL: url(['esdb:', 'esdb+discover:']).optional().register(CONFIG_DOCS, {
    default: 'unset: events in PostgreSQL',
    doc: '`esdb://` connection string: store events in EventStoreDB instead (e.g. `esdb://127.0.0.1:2113?tls=false`)',
    echo: 'redacted',
  }),
  NIMBUS_DATA_DIR: z.string().prefault('.nimbus').register(CONFIG_DOCS, {
    doc: 'where Nimbus keeps its own files (the embedded PostgreSQL under `pg/`)',
  }),
  NIMBUS_DOCKER: oneOf(['auto', 'docker', 'simulated'])
    .prefault('auto')
    .register(CONFIG_DOCS, { doc: DRIVER_DOC('Docker', 'docker') }),
  NIMBUS_OVS: oneOf(['auto', 'ovs', 'simulated'])
    .prefault('auto')
    .register(CONFIG_DOCS, { doc: DRIVER_DOC('Open vSwitch', 'ovs') }),
  NIMBUS_OVN: oneOf(['auto', 'ovn', 'simulated'])
    .prefault('auto')
    .register(CONFIG_DOCS, { doc: DRIVER_DOC('OVN, the network fabric,', 'ovn') }),
  NIMBUS_OVN_OWNER: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,40}$/, 'letters, digits and dashes, at most 41')
    .prefault('nimbus')
    .register(CONFIG_DOCS, {
      doc: 'the mark (`external_ids:nimbus_owner`) on every OVN object and host port this installation makes, and the prefix of its external switch; installations sharing one OVN need different marks',
    }),
  LOG_LEVEL: oneOf(LOG_LEVELS).prefault('info').register(CONFIG_DOCS, {
    doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`; logs are JSON lines on stdout',
  }),
  NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS: integer(0, 60_000).prefault('2000').register(CONFIG_DOCS, {
    doc: "how long a command's response waits for the projections to reach its events (then 202 with `Location`)",
  }),
  NIMBUS_BODY_LIMIT_BYTES: integer(1024, 1024 * 1024 * 1024)
    .prefault('1048576')
    .register(CONFIG_DOCS, { doc: 'largest accepted request body' }),
  NIMBUS_PG_POOL_SIZE: integer(1, 500).prefault('20').register(CONFIG_DOCS, {
    doc: "connections in the process's one PostgreSQL pool (requests, event store, read models, projection commits); projection runners' lock sessions and one `LISTEN` connection come on top",
  }),
  NIMBUS_IDEMPOTENCY_TTL_HOURS: integer(1, 720).prefault('24').register(CONFIG_DOCS, {
    doc: 'how long an `Idempotency-Key` and its response are remembered',
  }),
  NIMBUS_IDEMPOTENCY_ABANDON_SECONDS: integer(1, 3600).prefault('60').register(CONFIG_DOCS, {
    doc: 'how long a request may hold its `Idempotency-Key` unfinished before a retry with the same key takes it over (its process is taken to have died); until then a retry is 409 with `Retry-After`',
  }),
  NIMBUS_JWT_SECRET: secret(32, null).optional().register(CONFIG_DOCS, {
    default: 'generated in `keys/`',
    doc: 'HS256 secret of access tokens (at least 32 bytes, hex or base64); generated with mode 0600 when unset',
    echo: 'never',
  }),
  NIMBUS_MASTER_KEY: secret(32, 32).optional().register(CONFIG_DOCS, {
    default: 'generated in `keys/`',
    doc: "32-byte master key (hex or base64) wrapping each user's personal-data key (crypto-shredding)",
    echo: 'never',
  }),
  NIMBUS_API_KEY_PEPPER: secret(32, null).optional().register(CONFIG_DOCS, {
    default: 'generated in `keys/`',
    doc: 'HMAC pepper of API key hashes and email lookup hashes (at least 32 bytes)',
    echo: 'never',
  }),
  NIMBUS_SESSION_KEY_TTL: duration().prefault('30d').register(CONFIG_DOCS, {
    doc: 'lifetime of the API key minted at login (`3600`, `90s`, `15m`, `12h`, `30d`)',
  }),
  NIMBUS_ACCESS_TOKEN_TTL: duration()
    .prefault('15m')
    .register(CONFIG_DOCS, { doc: 'lifetime of a JWT access token' }),
  NIMBUS_AUTH_RATE_LIMIT: integer(1, 100_000).prefault('5').register(CONFIG_DOCS, {
    doc: 'requests per minute per client address on the `/auth` endpoints (in-process counter)',
  }),
  NIMBUS_API_RATE_LIMIT: integer(1, 1_000_000).prefault('1200').register(CONFIG_DOCS, {
    doc: 'requests per minute per API key or user on every other route (in-process counter)',
  }),
  NIMBUS_OPERATORS: z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((e) => e.trim().toLowerCase())
        .filter((e) => e.length > 0),
    )
    .prefault('')
    .register(CONFIG_DOCS, {
      default: 'none',
      doc: 'comma-separated emails of platform operators (admin routes such as `GET /admin/projections`)',
    }),
  NIMBUS_WEBHOOKS_ALLOW_PRIVATE_TARGETS: flag().prefault('false').register(CONFIG_DOCS, {
    doc: '`true` lets webhook URLs point at private, loopback or link-local addresses (tests, closed networks)',
  }),
  NIMBUS_SMTP_URL: url(['smtp:', 'smtps:']).optional().register(CONFIG_DOCS, {
    default: 'unset: `.eml` files',
    doc: '`smtp://user:pass@host:587` or `smtps://...`: deliver the mail outbox (`<data dir>/mail/`) over SMTP',
    echo: 'redacted',
  }),
  NIMBUS_MAIL_FROM: z
    .string()
    .refine((from) => mailAddressOf(from) !== null, { error: 'an address or Name <address>' })
    .prefault(DEFAULT_MAIL_FROM)
    .register(CONFIG_DOCS, { doc: 'the From of outgoing mail (`Name <address>` or an address)' }),
  NIMBUS_QUOTA_INSTANCES: integer(0, 100_000)
    .prefault('10')
    .register(CONFIG_DOCS, { doc: "every tenant's limit of live instances" }),
  NIMBUS_QUOTA_VCPUS: integer(0, 100_000)
    .prefault('16')
    .register(CONFIG_DOCS, { doc: "every tenant's limit of vCPUs across live instances" }),
  NIMBUS_QUOTA_MEMORY_MB: integer(0, 100_000_000)
    .prefault('32768')
    .register(CONFIG_DOCS, { doc: "every tenant's limit of memory (MiB) across live instances" }),
  NIMBUS_QUOTA_VOLUMES: integer(0, 100_000)
    .prefault('20')
    .register(CONFIG_DOCS, { doc: "every tenant's limit of volumes" }),
  NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE: flag().prefault('false').register(CONFIG_DOCS, {
    doc: '`true` lets `POST /images/import` fetch from private or loopback addresses (tests, closed networks)',
  }),
  NIMBUS_COMPUTE_RECONCILE_INTERVAL_MS: integer(100, 3_600_000)
    .prefault('15000')
    .register(CONFIG_DOCS, {
      doc: 'period of the drift reconcile between the instances and the Docker engine',
    }),
  NIMBUS_DATA_RECONCILE_INTERVAL_MS: integer(100, 3_600_000)
    .prefault('15000')
    .register(CONFIG_DOCS, {
      doc: 'period of the drift reconcile between the databases and caches and their engine containers',
    }),
  NIMBUS_COMPUTE_LOG_COLLECT_INTERVAL_MS: integer(100, 3_600_000)
    .prefault('10000')
    .register(CONFIG_DOCS, { doc: 'period of the console-output collector behind `GET /logs`' }),
  NIMBUS_CONTAINER_LABEL: keyValue().optional().register(CONFIG_DOCS, {
    default: 'none',
    doc: 'one extra `key=value` label on every container Nimbus creates (tests use it to clean up)',
  }),
  NIMBUS_EIP_POOL: ipv4Block(8, 29).prefault('100.64.0.0/10').register(CONFIG_DOCS, {
    doc: 'the external network: elastic IPs and internet gateway ports take their addresses from it; its first address is the upstream router',
  }),
  NIMBUS_STORAGE_MAX_OBJECT_BYTES: integer(1, 5 * 1024 ** 4)
    .prefault(String(5 * 1024 ** 3))
    .register(CONFIG_DOCS, {
      doc: 'largest object one upload writes (`PUT /storage/:bucket/*key`, one multipart part); streamed to disk, never held in memory',
    }),
  NIMBUS_STORAGE_PRESIGN_SECRET: secret(32, null).optional().register(CONFIG_DOCS, {
    default: 'generated in `keys/`',
    doc: 'HMAC secret of presigned storage URLs (at least 32 bytes, hex or base64); changing it voids every URL issued',
    echo: 'never',
  }),
  NIMBUS_BLOB_STORE: oneOf(['filesystem', 's3']).prefault('filesystem').register(CONFIG_DOCS, {
    doc: 'where object bytes live: `filesystem` (under `<NIMBUS_DATA_DIR>/blobs`) or `s3` (a bucket of an S3-compatible cluster, `NIMBUS_BLOB_S3_*`)',
  }),
  NIMBUS_K8S_NODE_IMAGE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._/:@-]{0,254}$/, {
      error: 'a Docker image reference, e.g. registry.example/nimbus/k8s-node:1',
    })
    .optional()
    .register(CONFIG_DOCS, {
      doc: 'a Kubernetes node image (systemd, containerd, `/opt/nimbus/k8s/<version>/{kubeadm,kubelet}`, `/opt/nimbus/k8s/cni.yaml`, `etcdctl`): clusters are then real, bootstrapped with kubeadm on containers of it (`src/clusters/README.md`); unset: simulated nodes with a real etcd',
    }),
  NIMBUS_BLOB_S3_URL: url(['http:', 'https:'])
    .refine((raw) => new URL(raw).pathname.split('/').some((s) => s.length > 0), {
      error: 'the endpoint with the bucket as its path, e.g. http://127.0.0.1:9000/nimbus-blobs',
    })
    .optional()
    .register(CONFIG_DOCS, {
      doc: 'with `NIMBUS_BLOB_STORE=s3`: the endpoint and bucket (path-style, optional key prefix after it), e.g. `http://127.0.0.1:9000/nimbus-blobs`',
      echo: 'redacted',
    }),
  NIMBUS_BLOB_S3_ACCESS_KEY_ID: z.string().optional().register(CONFIG_DOCS, {
    doc: 'with `NIMBUS_BLOB_STORE=s3`: the access key id',
  }),
  NIMBUS_BLOB_S3_SECRET_ACCESS_KEY: z.string().optional().register(CONFIG_DOCS, {
    doc: 'with `NIMBUS_BLOB_STORE=s3`: the secret access key',
    echo: 'never',
  }),
  NIMBUS_BLOB_S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]+$/, { error: 'a region name such as us-east-1' })
    .prefault('us-east-1')
    .register(CONFIG_DOCS, {
      doc: 'with `NIMBUS_BLOB_STORE=s3`: the region requests are signed for',
    }),
  NIMBUS_S3_PORT: integer(0, 65535).optional().register(CONFIG_DOCS, {
    default: 'unset: no S3 endpoint',
    doc: 'TCP port of the S3-compatible endpoint (AWS Signature V4 with `POST /storage/access-keys` keys, unsigned reads of public buckets; on `HOST`; `0` picks a free port)',
  }),
  NIMBUS_S3_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/, { error: 'a lower-case DNS name' })
    .prefault('localhost')
    .register(CONFIG_DOCS, {
      doc: 'virtual-host-style S3 addressing: a request to `<bucket>.<this domain>` names the bucket in its Host',
    }),
  NIMBUS_PEERING_EXPIRY: duration().prefault('7d').register(CONFIG_DOCS, {
    doc: 'how long a VPC peering request waits for acceptance before it is `expired`',
  }),
});

type ConfigVariables = z.output<typeof CONFIG_SCHEMA>;
export type ConfigVariableName = keyof typeof CONFIG_SCHEMA.shape;

/** The application's configuration in the shape the code uses, built from the parsed variables. */
function appConfigFrom(v: ConfigVariables, cwd: string) {
  return {
    port: v.PORT,
    host: v.HOST,
    /** null: an embedded PostgreSQL under dataDir/pg. */
    databaseUrl: v.DATABASE_URL ?? null,
    embeddedPgPort: v.NIMBUS_EMBEDDED_PG_PORT,
    /** Name of the database created on the embedded server. */
    embeddedPgDatabase: 'nimbus',
    /** null: events in PostgreSQL. */
    eventStoreUrl: v.EVENTSTORE_URL ?? null,
    /** Absolute. */
    dataDir: isAbsolute(v.NIMBUS_DATA_DIR) ? v.NIMBUS_DATA_DIR : resolve(cwd, v.NIMBUS_DATA_DIR),
    docker: v.NIMBUS_DOCKER,
    ovs: v.NIMBUS_OVS,
    ovn: v.NIMBUS_OVN,
    ovnOwner: v.NIMBUS_OVN_OWNER,
    logLevel: v.LOG_LEVEL,
    readYourWritesTimeoutMs: v.NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS,
    bodyLimitBytes: v.NIMBUS_BODY_LIMIT_BYTES,
    pgPoolSize: v.NIMBUS_PG_POOL_SIZE,
    idempotencyTtlHours: v.NIMBUS_IDEMPOTENCY_TTL_HOURS,
    idempotencyAbandonSeconds: v.NIMBUS_IDEMPOTENCY_ABANDON_SECONDS,
    /** null: generated under dataDir/keys (so are masterKey and apiKeyPepper). */
    jwtSecret: v.NIMBUS_JWT_SECRET ?? null,
    masterKey: v.NIMBUS_MASTER_KEY ?? null,
    apiKeyPepper: v.NIMBUS_API_KEY_PEPPER ?? null,
    sessionKeyTtlMs: v.NIMBUS_SESSION_KEY_TTL,
    accessTokenTtlMs: v.NIMBUS_ACCESS_TOKEN_TTL,
    authRateLimitPerMinute: v.NIMBUS_AUTH_RATE_LIMIT,
    apiRateLimitPerMinute: v.NIMBUS_API_RATE_LIMIT,
    /** Lower-cased. */
    operatorEmails: v.NIMBUS_OPERATORS,
    webhooksAllowPrivateTargets: v.NIMBUS_WEBHOOKS_ALLOW_PRIVATE_TARGETS,
    /** null: the mail outbox is only written as .eml files. */
    smtpUrl: v.NIMBUS_SMTP_URL ?? null,
    mailFrom: v.NIMBUS_MAIL_FROM,
    quota: {
      instances: v.NIMBUS_QUOTA_INSTANCES,
      vcpus: v.NIMBUS_QUOTA_VCPUS,
      memoryMb: v.NIMBUS_QUOTA_MEMORY_MB,
      volumes: v.NIMBUS_QUOTA_VOLUMES,
    },
    imageImportAllowPrivate: v.NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE,
    computeReconcileIntervalMs: v.NIMBUS_COMPUTE_RECONCILE_INTERVAL_MS,
    computeLogCollectIntervalMs: v.NIMBUS_COMPUTE_LOG_COLLECT_INTERVAL_MS,
    dataReconcileIntervalMs: v.NIMBUS_DATA_RECONCILE_INTERVAL_MS,
    containerLabel: v.NIMBUS_CONTAINER_LABEL ?? null,
    /** The external network (elastic IPs, gateway ports); its first address is the upstream. */
    eipPool: v.NIMBUS_EIP_POOL,
    /** How long a VPC peering request waits for acceptance, in milliseconds. */
    peeringExpiryMs: v.NIMBUS_PEERING_EXPIRY,
    storageMaxObjectBytes: v.NIMBUS_STORAGE_MAX_OBJECT_BYTES,
    /** null: generated under dataDir/keys. */
    storagePresignSecret: v.NIMBUS_STORAGE_PRESIGN_SECRET ?? null,
    /** null: no S3 endpoint. */
    s3Port: v.NIMBUS_S3_PORT ?? null,
    s3Domain: v.NIMBUS_S3_DOMAIN,
    /** null: blobs in the filesystem under dataDir/blobs. */
    k8sNodeImage: v.NIMBUS_K8S_NODE_IMAGE ?? null,
    blobS3:
      v.NIMBUS_BLOB_STORE === 's3'
        ? {
            url: v.NIMBUS_BLOB_S3_URL ?? '',
            accessKeyId: v.NIMBUS_BLOB_S3_ACCESS_KEY_ID ?? '',
            secretAccessKey: v.NIMBUS_BLOB_S3_SECRET_ACCESS_KEY ?? '',
            region: v.NIMBUS_BLOB_S3_REGION,
          }
        : null,
  };
}

/** The application's configuration, read once from the environment at start-up. */
export type AppConfig = ReturnType<typeof appConfigFrom>;
export type DockerDriverChoice = AppConfig['docker'];
export type OvsDriverChoice = AppConfig['ovs'];
export type OvnDriverChoice = AppConfig['ovn'];

/** Every refused variable, each as `NAME="value" is not allowed: expected ...`; the message is one line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the configuration. Pure: the same environment gives the same result, and
 * every problem is reported at once, each naming its variable and what it accepts.
 */
export function loadConfig(env: Env, cwd: string = process.cwd()): AppConfig {
  const names = Object.keys(CONFIG_SCHEMA.shape) as ConfigVariableName[];
  const input: Partial<Record<ConfigVariableName, string>> = {};
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) input[name] = value;
  }
  const parsed = CONFIG_SCHEMA.safeParse(input);
  if (parsed.success) {
    if (parsed.data.NIMBUS_BLOB_STORE === 's3') {
      const missing = (
        [
          'NIMBUS_BLOB_S3_URL',
          'NIMBUS_BLOB_S3_ACCESS_KEY_ID',
          'NIMBUS_BLOB_S3_SECRET_ACCESS_KEY',
        ] as const
      ).filter((name) => !input[name]);
      if (missing.length > 0) {
        throw new ConfigError(missing.map((name) => `NIMBUS_BLOB_STORE=s3 needs ${name}`));
      }
    }
    return appConfigFrom(parsed.data, cwd);
  }

  const problems = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const name = String(issue.path[0]) as ConfigVariableName;
    if (problems.has(name)) continue;
    const raw = input[name] ?? '';
    const echo = CONFIG_DOCS.get(CONFIG_SCHEMA.shape[name])?.echo;
    const shown =
      echo === 'never'
        ? name
        : `${name}=${JSON.stringify(echo === 'redacted' ? redact(raw) : raw)}`;
    problems.set(name, `${shown} is not allowed: expected ${issue.message}`);
  }
  throw new ConfigError([...problems.values()]);
}

/** One README row per variable, in schema order (read by scripts/docs-config.mjs). */
export function configTableRows(): { name: string; default: string; doc: string }[] {
  return (Object.keys(CONFIG_SCHEMA.shape) as ConfigVariableName[]).map((name) => {
    const schema = CONFIG_SCHEMA.shape[name];
    const docs = CONFIG_DOCS.get(schema);
    if (!docs) throw new Error(`configuration variable ${name} has no documentation`);
    const fallback =
      schema instanceof z.ZodPrefault ? `\`${String(schema.def.defaultValue)}\`` : 'unset';
    return { name, default: docs.default ?? fallback, doc: docs.doc };
  });
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
