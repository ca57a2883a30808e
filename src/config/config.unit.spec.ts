import { describe, expect, it } from 'vitest';
import {
  CONFIG_DOCS,
  CONFIG_SCHEMA,
  ConfigError,
  configTableRows,
  loadConfig,
  redact,
} from './config';

describe('loadConfig', () => {
  it('has defaults for an empty environment', () => {
    expect(loadConfig({}, '/srv/nimbus')).toEqual({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: null,
      embeddedPgPort: 54329,
      embeddedPgDatabase: 'nimbus',
      eventStoreUrl: null,
      dataDir: '/srv/nimbus/.nimbus',
      docker: 'auto',
      ovs: 'auto',
      ovn: 'auto',
      ovnOwner: 'nimbus',
      logLevel: 'info',
      readYourWritesTimeoutMs: 2000,
      bodyLimitBytes: 1048576,
      pgPoolSize: 20,
      idempotencyTtlHours: 24,
      idempotencyAbandonSeconds: 60,
      jwtSecret: null,
      masterKey: null,
      apiKeyPepper: null,
      sessionKeyTtlMs: 30 * 86_400_000,
      accessTokenTtlMs: 15 * 60_000,
      authRateLimitPerMinute: 5,
      apiRateLimitPerMinute: 1200,
      operatorEmails: [],
      webhooksAllowPrivateTargets: false,
      smtpUrl: null,
      storageMaxObjectBytes: 5368709120,
      storagePresignSecret: null,
      s3Port: null,
      s3Domain: 'localhost',
      k8sNodeImage: null,
      blobS3: null,
      mailFrom: 'Nimbus <no-reply@localhost>',
      quota: { instances: 10, vcpus: 16, memoryMb: 32768, volumes: 20 },
      imageImportAllowPrivate: false,
      computeReconcileIntervalMs: 15_000,
      computeLogCollectIntervalMs: 10_000,
      dataReconcileIntervalMs: 15_000,
      containerLabel: null,
      eipPool: '100.64.0.0/10',
      peeringExpiryMs: 7 * 86_400_000,
    });
  });

  it('reads the networking settings: the elastic IP pool and the peering expiry', () => {
    const config = loadConfig({ NIMBUS_EIP_POOL: '198.19.0.0/24', NIMBUS_PEERING_EXPIRY: '90s' });
    expect(config.eipPool).toBe('198.19.0.0/24');
    expect(config.peeringExpiryMs).toBe(90_000);
    for (const bad of ['100.64.0.0/30', '100.64.0.256/24', '100.64.0.0', 'pool']) {
      expect(() => loadConfig({ NIMBUS_EIP_POOL: bad })).toThrow(/NIMBUS_EIP_POOL/);
    }
    expect(() => loadConfig({ NIMBUS_PEERING_EXPIRY: 'soon' })).toThrow(/NIMBUS_PEERING_EXPIRY/);
  });

  it('reads the SMTP settings and refuses a bad From or a non-SMTP URL', () => {
    const config = loadConfig({
      NIMBUS_SMTP_URL: 'smtps://mailer:secret@127.0.0.1:465',
      NIMBUS_MAIL_FROM: 'Ops <ops@example.com>',
    });
    expect(config.smtpUrl).toBe('smtps://mailer:secret@127.0.0.1:465');
    expect(config.mailFrom).toBe('Ops <ops@example.com>');
    expect(loadConfig({ NIMBUS_MAIL_FROM: 'ops@example.com' }).mailFrom).toBe('ops@example.com');
    const refused = (() => {
      try {
        loadConfig({ NIMBUS_SMTP_URL: 'http://u:secret@mail:25', NIMBUS_MAIL_FROM: 'nobody' });
        return '';
      } catch (err) {
        return String(err);
      }
    })();
    expect(refused).toMatch(/NIMBUS_MAIL_FROM="nobody"/);
    expect(refused).toMatch(/NIMBUS_SMTP_URL="http:\/\/u:\*\*\*@mail:25/);
    expect(refused).not.toContain('secret');
  });

  it('reads identity secrets (hex or base64) and durations', () => {
    const hex = 'ab'.repeat(32);
    const config = loadConfig({
      NIMBUS_JWT_SECRET: hex,
      NIMBUS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      NIMBUS_SESSION_KEY_TTL: '12h',
      NIMBUS_ACCESS_TOKEN_TTL: '900',
      NIMBUS_OPERATORS: ' Ops@Example.com, b@example.com ',
    });
    expect(config.jwtSecret?.toString('hex')).toBe(hex);
    expect(config.masterKey).toEqual(Buffer.alloc(32, 7));
    expect(config.sessionKeyTtlMs).toBe(12 * 3_600_000);
    expect(config.accessTokenTtlMs).toBe(900_000);
    expect(config.operatorEmails).toEqual(['ops@example.com', 'b@example.com']);
    expect(() =>
      loadConfig({ NIMBUS_MASTER_KEY: 'ab'.repeat(16), NIMBUS_SESSION_KEY_TTL: '3w' }),
    ).toThrow(/NIMBUS_MASTER_KEY[\s\S]*NIMBUS_SESSION_KEY_TTL/);
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        PORT: '9000',
        HOST: '0.0.0.0',
        DATABASE_URL: 'postgres://u:p@db:5432/nimbus',
        EVENTSTORE_URL: 'esdb://es:2113?tls=false',
        NIMBUS_DATA_DIR: '/var/lib/nimbus',
        NIMBUS_DOCKER: 'Simulated',
        NIMBUS_OVS: 'ovs',
        NIMBUS_OVN: 'OVN',
        LOG_LEVEL: 'debug',
        NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS: '500',
        NIMBUS_BODY_LIMIT_BYTES: '2048',
        NIMBUS_EMBEDDED_PG_PORT: '6000',
      },
      '/ignored',
    );
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      databaseUrl: 'postgres://u:p@db:5432/nimbus',
      eventStoreUrl: 'esdb://es:2113?tls=false',
      dataDir: '/var/lib/nimbus',
      docker: 'simulated',
      ovs: 'ovs',
      ovn: 'ovn',
      logLevel: 'debug',
      readYourWritesTimeoutMs: 500,
      bodyLimitBytes: 2048,
      embeddedPgPort: 6000,
    });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ' }).port).toBe(8080);
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeNull();
  });

  it.each([
    ['PORT', 'abc', 'PORT="abc" is not allowed: expected an integer 0..65535'],
    ['PORT', '70000', 'expected an integer 0..65535'],
    [
      'NIMBUS_DOCKER',
      'podman',
      'NIMBUS_DOCKER="podman" is not allowed: expected one of auto, docker, simulated',
    ],
    ['NIMBUS_OVS', 'yes', 'expected one of auto, ovs, simulated'],
    ['NIMBUS_OVN', 'ovs', 'NIMBUS_OVN="ovs" is not allowed: expected one of auto, ovn, simulated'],
    ['LOG_LEVEL', 'loud', 'expected one of fatal, error, warn, info, debug, trace, silent'],
    [
      'DATABASE_URL',
      'mysql://x',
      'DATABASE_URL="mysql://x" is not allowed: expected a URL starting with postgres:// or postgresql://',
    ],
    [
      'EVENTSTORE_URL',
      'http://es:2113',
      'expected a URL starting with esdb:// or esdb+discover://',
    ],
    ['NIMBUS_BODY_LIMIT_BYTES', '10', 'expected an integer 1024..1073741824'],
    ['NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS', '-1', 'NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS="-1"'],
    ['HOST', 'bad host', 'HOST="bad host" is not allowed'],
  ])('rejects %s=%s naming the variable and what is allowed', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('reports every problem at once, in one line', () => {
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'y' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        'PORT="x" is not allowed: expected an integer 0..65535',
        'LOG_LEVEL="y" is not allowed: expected one of fatal, error, warn, info, debug, trace, silent',
      ]);
      expect((err as ConfigError).message).not.toContain('\n');
    }
  });

  it('never echoes a secret it refuses', () => {
    expect(() => loadConfig({ NIMBUS_JWT_SECRET: 'short-secret' })).toThrow(
      /^invalid configuration: NIMBUS_JWT_SECRET is not allowed: expected at least 32 bytes, hex or base64$/,
    );
  });

  it('documents every variable of the schema, defaults taken from the schema', () => {
    const rows = configTableRows();
    expect(rows.map((r) => r.name)).toEqual(Object.keys(CONFIG_SCHEMA.shape));
    for (const schema of Object.values(CONFIG_SCHEMA.shape)) {
      expect(CONFIG_DOCS.get(schema)?.doc).toBeTruthy();
    }
    expect(rows.find((r) => r.name === 'PORT')?.default).toBe('`8080`');
    expect(rows.find((r) => r.name === 'NIMBUS_SESSION_KEY_TTL')?.default).toBe('`30d`');
    expect(rows.find((r) => r.name === 'DATABASE_URL')?.default).toBe('unset: embedded PostgreSQL');
  });

  it('never echoes a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:secret@h/db' })).toThrow(/\*\*\*/);
    expect(redact('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
  });

  it('reads the compute settings: quotas, private image imports, intervals, container label', () => {
    const config = loadConfig({
      NIMBUS_QUOTA_INSTANCES: '3',
      NIMBUS_QUOTA_MEMORY_MB: '8192',
      NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE: 'TRUE',
      NIMBUS_COMPUTE_RECONCILE_INTERVAL_MS: '500',
      NIMBUS_CONTAINER_LABEL: 'nimbus.test=run-1',
    });
    expect(config.quota).toEqual({ instances: 3, vcpus: 16, memoryMb: 8192, volumes: 20 });
    expect(config.imageImportAllowPrivate).toBe(true);
    expect(config.computeReconcileIntervalMs).toBe(500);
    expect(config.computeLogCollectIntervalMs).toBe(10_000);
    expect(config.containerLabel).toEqual({ key: 'nimbus.test', value: 'run-1' });
    expect(() =>
      loadConfig({
        NIMBUS_QUOTA_VCPUS: '-1',
        NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE: 'yes',
        NIMBUS_CONTAINER_LABEL: '=x',
      }),
    ).toThrow(
      /NIMBUS_QUOTA_VCPUS[\s\S]*NIMBUS_IMAGE_IMPORT_ALLOW_PRIVATE[\s\S]*NIMBUS_CONTAINER_LABEL/,
    );
  });

  it('reads the Kubernetes node image, and refuses what is no image reference', () => {
    expect(loadConfig({}).k8sNodeImage).toBeNull();
    expect(
      loadConfig({ NIMBUS_K8S_NODE_IMAGE: 'registry.example/nimbus/k8s-node:1' }).k8sNodeImage,
    ).toBe('registry.example/nimbus/k8s-node:1');
    expect(() => loadConfig({ NIMBUS_K8S_NODE_IMAGE: 'node image; rm -rf /' })).toThrow(
      /NIMBUS_K8S_NODE_IMAGE/,
    );
  });

  it('reads the S3 blob store settings and names what NIMBUS_BLOB_STORE=s3 lacks', () => {
    expect(loadConfig({}).blobS3).toBeNull();
    expect(
      loadConfig({
        NIMBUS_BLOB_STORE: 'S3',
        NIMBUS_BLOB_S3_URL: 'http://127.0.0.1:9000/nimbus-blobs',
        NIMBUS_BLOB_S3_ACCESS_KEY_ID: 'AKID',
        NIMBUS_BLOB_S3_SECRET_ACCESS_KEY: 'secret',
      }).blobS3,
    ).toEqual({
      url: 'http://127.0.0.1:9000/nimbus-blobs',
      accessKeyId: 'AKID',
      secretAccessKey: 'secret',
      region: 'us-east-1',
    });
    expect(() =>
      loadConfig({ NIMBUS_BLOB_STORE: 's3', NIMBUS_BLOB_S3_ACCESS_KEY_ID: 'AKID' }),
    ).toThrow(
      'invalid configuration: NIMBUS_BLOB_STORE=s3 needs NIMBUS_BLOB_S3_URL; NIMBUS_BLOB_STORE=s3 needs NIMBUS_BLOB_S3_SECRET_ACCESS_KEY',
    );
    expect(() => loadConfig({ NIMBUS_BLOB_S3_URL: 'http://127.0.0.1:9000' })).toThrow(
      /NIMBUS_BLOB_S3_URL="http:\/\/127.0.0.1:9000\/" is not allowed: expected the endpoint with the bucket/,
    );
    expect(() => loadConfig({ NIMBUS_BLOB_STORE: 'minio' })).toThrow(
      'expected one of filesystem, s3',
    );
  });
});
