/**
 * Tenant isolation, for every route of the API: walks /openapi.json, and for each operation with a
 * path parameter calls it as a caller of tenant B with the ids of real resources of tenant A. The
 * answer must be 404 (403 for operator routes under /admin) and no event may be appended.
 *
 * Path parameters are resolved by the kind of resource they name (resourceKindOf: `policyId` ->
 * policy, `/instances/{id}` -> instance). Each kind gets one real resource of tenant A:
 *   1. FIXTURES[kind] when there is one (a function creating it in tenant A, returning its id);
 *   2. otherwise, generically: POST to the collection the parameter belongs to (`/instances` for
 *      `/instances/{id}/stop`) as A with a minimal body from the OpenAPI schema, and take `id`
 *      from the answer.
 * A kind neither way can create fails the test, naming the route, until its owner adds a fixture;
 * routes added later are covered automatically.
 *
 * The same routes, called with two credentials that disagree (A's and B's) or with a valid
 * credential of A beside an invalid one, must answer 401 and append nothing.
 *
 * AccessDenied events (denials recorded for the audit log) are not counted: a denial is not a
 * change of any resource.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_BACKUP_SAGA } from '../../sagas/cluster-backup/cluster-backup.saga';
import { CACHE_PROVISION_SAGA } from '../../sagas/cache-provision/cache-provision.saga';
import { DATABASE_PROVISION_SAGA } from '../../sagas/database-provision/database-provision.saga';
import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import { DATABASE_SNAPSHOT_SAGA } from '../../sagas/database-provision/database-snapshot.saga';
import { backupDecider } from '../../src/clusters/domain';
import { databaseDecider, snapshotDecider } from '../../src/data/domain';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import { systemContext } from '../../src/platform/commands/system-context';
import { QuotaService } from '../../src/platform/quotas/quota.service';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import {
  bearer,
  countEvents,
  newestEvents,
  minimalValue,
  openApiOperations,
  resourceKindOf,
  signUp,
  type Account,
  type OpenApiOperation,
  type OpenApiSchema,
} from './identity.helpers';

interface FixtureContext {
  t: TestApp;
  /** The owner of tenant A (their personal tenant). */
  a: Account;
}

type Fixture = (ctx: FixtureContext) => Promise<string>;

const NEEDS_RUNNING_ENGINE = new Set([
  '/caches/{id}/connection',
  '/caches/{id}/stats',
  '/databases/{id}/connection',
]);

/**
 * Polls a CREATING resource until it is RUNNING or FAILED (simulated Docker here), then waits for
 * its provisioning saga to record its end (it appends after the status it records); answers its
 * id.
 */
async function settled(t: TestApp, a: Account, path: string, saga: string): Promise<string> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const res = await conformingHttp(t).get(path).set(bearer(a.accessToken));
    if (res.status === 200 && res.body.status !== 'CREATING') {
      const id = res.body.id as string;
      await t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(saga, id, 60_000);
      return id;
    }
    if (Date.now() > deadline)
      throw new Error(`${path} did not settle: ${JSON.stringify(res.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** How to create one resource of each kind in tenant A. Add your resource kind here. */
let clusterFixture: Promise<string> | undefined;

async function makeClusterFixture({ t, a }: { t: TestApp; a: Account }): Promise<string> {
  const vpc = await conformingHttp(t)
    .post('/vpcs')
    .set(bearer(a.accessToken))
    .send({ name: 'a-k8s-vpc' });
  expect(vpc.status, JSON.stringify(vpc.body)).toBe(201);
  const res = await t
    .http()
    .post('/clusters')
    .set(bearer(a.accessToken))
    .send({ name: 'a-cluster', vpc_id: vpc.body.id, version: 'v1.29.0', workers: 1, ha: false });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const id = res.body.id as string;
  const settled = async (version: string) => {
    for (let i = 0; i < 600; i++) {
      const got = await conformingHttp(t).get(`/clusters/${id}`).set(bearer(a.accessToken));
      if (got.body.status === 'running' && got.body.version === version) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`cluster fixture ${id} did not reach running ${version}`);
  };
  await settled('v1.29.0');
  const upgrade = await t
    .http()
    .post(`/clusters/${id}/upgrade`)
    .set(bearer(a.accessToken))
    .send({ version: 'v1.30.0' });
  expect(upgrade.status, JSON.stringify(upgrade.body)).toBe(202);
  await settled('v1.30.0');
  return id;
}

const FIXTURES: Record<string, Fixture> = {
  tenant: ({ a }) => Promise.resolve(a.tenantId),
  user: ({ a }) => Promise.resolve(a.userId),
  // `key` has no fixture on purpose: the generic POST /auth/keys strategy creates it.
  // Caches and databases provision in the background: wait until they settle (RUNNING, or
  // FAILED without Docker), so their sagas append nothing while the calls under test are counted.
  cache: async ({ t, a }) => {
    const res = await t
      .http()
      .post('/caches')
      .set(bearer(a.accessToken))
      .send({ name: 'a-cache', memory_mb: 32 });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return settled(t, a, `/caches/${res.body.id as string}`, CACHE_PROVISION_SAGA);
  },
  database: async ({ t, a }) => {
    const res = await t
      .http()
      .post('/databases')
      .set(bearer(a.accessToken))
      .send({ name: 'a-db', engine: 'postgres', version: '15', allocated_storage: 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return settled(t, a, `/databases/${res.body.id as string}`, DATABASE_PROVISION_SAGA);
  },
  policy: async ({ t, a }) => {
    const res = await t
      .http()
      .post('/iam/policies')
      .set(bearer(a.accessToken))
      .send({
        name: 'APolicy',
        statements: [{ effect: 'Allow', action: ['compute:list'], resource: ['*'] }],
      });
    expect(res.status).toBe(201);
    const attach = await t
      .http()
      .post(`/iam/users/${a.userId}/policies/${res.body.id}`)
      .set(bearer(a.accessToken));
    expect(attach.status).toBe(204);
    return res.body.id as string;
  },
  instance: async ({ t, a }) => {
    const res = await t
      .http()
      .post('/instances')
      .set(bearer(a.accessToken))
      .send({ name: 'a-instance', image: 'busybox', instance_type: 'basic-1' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    // Let the launch finish, so its events do not land while the calls below are counted.
    for (let i = 0; i < 200; i++) {
      const got = await conformingHttp(t).get(`/instances/${id}`).set(bearer(a.accessToken));
      if (got.body.status === 'RUNNING') return id;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`instance fixture ${id} did not reach RUNNING`);
  },
  image: async ({ t, a }) => {
    const res = await conformingHttp(t)
      .post('/images')
      .set(bearer(a.accessToken))
      .send({ name: 'a-image' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  },
  volume: async ({ t, a }) => {
    const res = await t
      .http()
      .post('/volumes')
      .set(bearer(a.accessToken))
      .send({ name: 'a-volume', size_gb: 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  },
  // The schema's example URL is a public host; the test app allows a loopback receiver instead.
  webhook: async ({ t, a }) => {
    const res = await t
      .http()
      .post('/webhooks')
      .set(bearer(a.accessToken))
      .send({ url: 'http://127.0.0.1:9/isolation-hook', events: ['InstanceStarted'] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  },
  // Reports are requested with POST /reports/generate (202), not POST /reports.
  report: async ({ t, a }) => {
    const res = await t
      .http()
      .post('/reports/generate')
      .set(bearer(a.accessToken))
      .send({ type: 'billing', format: 'json' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.id as string;
  },
  // GET /logs/{resource_id}: the logs of one of tenant A's resources.
  log: (ctx) => FIXTURES.volume(ctx),
  subnet: async ({ t, a }) => {
    const vpc = await conformingHttp(t)
      .post('/vpcs')
      .set(bearer(a.accessToken))
      .send({ name: 'a-vpc' });
    expect(vpc.status, JSON.stringify(vpc.body)).toBe(201);
    const res = await t
      .http()
      .post(`/vpcs/${vpc.body.id}/subnets`)
      .set(bearer(a.accessToken))
      .send({ name: 'a-subnet', cidr_block: '10.0.1.0/24', availability_zone: 'local-1a' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  },
  'security-group': async ({ t, a }) => {
    const vpc = await conformingHttp(t)
      .post('/vpcs')
      .set(bearer(a.accessToken))
      .send({ name: 'a-sg-vpc' });
    expect(vpc.status, JSON.stringify(vpc.body)).toBe(201);
    return vpc.body.default_security_group_id as string;
  },
  // DELETE /security-groups/{id}/rules/{ruleId}: the default group's own rule.
  rule: async (ctx) => {
    const groupId = await FIXTURES['security-group'](ctx);
    const group = await ctx.t
      .http()
      .get(`/security-groups/${groupId}`)
      .set(bearer(ctx.a.accessToken));
    return (group.body as { rules: Array<{ id: string }> }).rules[0].id;
  },
  'route-table': async ({ t, a }) => {
    const vpc = await conformingHttp(t)
      .post('/vpcs')
      .set(bearer(a.accessToken))
      .send({ name: 'a-rt-vpc' });
    expect(vpc.status, JSON.stringify(vpc.body)).toBe(201);
    return vpc.body.main_route_table_id as string;
  },
  // A NAT gateway needs a subnet and an elastic IP of A; its saga settles (active, or failed
  // without an internet gateway) before the calls below are counted.
  'nat-gateway': async (ctx) => {
    const { t, a } = ctx;
    const subnetId = await FIXTURES.subnet(ctx);
    const eip = await conformingHttp(t).post('/elastic-ips').set(bearer(a.accessToken)).send({});
    expect(eip.status, JSON.stringify(eip.body)).toBe(201);
    const res = await t
      .http()
      .post('/nat-gateways')
      .set(bearer(a.accessToken))
      .send({ subnet_id: subnetId, eip_id: eip.body.id });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.id as string;
    for (let i = 0; i < 200; i++) {
      const got = await conformingHttp(t).get(`/nat-gateways/${id}`).set(bearer(a.accessToken));
      if (got.body.status !== 'pending') return id;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`NAT gateway fixture ${id} stayed pending`);
  },
  // A cluster in a VPC of A, running and upgraded once (so GET /clusters/{id}/upgrade has one),
  // its sagas settled before the calls below are counted. One per run: its backup is of it.
  cluster: (ctx) => (clusterFixture ??= makeClusterFixture(ctx)),
  // An etcd backup of the cluster fixture (the routes name both). Docker is simulated here, so
  // there is no etcd to snapshot: the backup is requested through its decider and its saga
  // records it `failed` (a real resource all the same), settled before the calls are counted.
  backup: async (ctx) => {
    const clusterId = await FIXTURES.cluster(ctx);
    const id = randomUUID();
    await ctx.t.app.get(CommandExecutor).execute(
      backupDecider,
      id,
      {
        type: 'RequestBackup',
        backupId: id,
        clusterId,
        tenantId: ctx.a.tenantId,
        now: new Date(),
      },
      systemContext('isolation-test', { tenantId: ctx.a.tenantId }),
    );
    await ctx.t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(CLUSTER_BACKUP_SAGA, id, 60_000);
    for (let i = 0; i < 200; i++) {
      const got = await conformingHttp(ctx.t)
        .get(`/clusters/${clusterId}/backups/${id}`)
        .set(bearer(ctx.a.accessToken));
      if (got.status === 200 && got.body.status !== 'creating') return id;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`backup fixture ${id} did not settle`);
  },
  // A snapshot of a database of A. Docker is simulated here, so the database fixture never runs:
  // the snapshot is requested through its decider with a RUNNING source, and its saga records it
  // `failed` (no container to dump; a real resource all the same), settled before the calls.
  'database-snapshot': async (ctx) => {
    const databaseId = await FIXTURES.database(ctx);
    const executor = ctx.t.app.get(CommandExecutor);
    const { state } = await executor.load(databaseDecider, databaseId);
    const id = randomUUID();
    await executor.execute(
      snapshotDecider,
      id,
      {
        type: 'CreateDatabaseSnapshot',
        snapshotId: id,
        tenantId: ctx.a.tenantId,
        name: 'a-snapshot',
        source: { databaseId, state: { ...state, status: 'RUNNING' }, sqlDatabase: 'a_db' },
        now: new Date(),
      },
      systemContext('isolation-test', { tenantId: ctx.a.tenantId }),
    );
    await ctx.t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(DATABASE_SNAPSHOT_SAGA, id, 60_000);
    return id;
  },
  // A peering request between two of A's VPCs, left pending acceptance.
  'vpc-peering': async ({ t, a }) => {
    const vpcIds: string[] = [];
    for (const cidr of ['10.1.0.0/16', '10.2.0.0/16']) {
      const vpc = await t
        .http()
        .post('/vpcs')
        .set(bearer(a.accessToken))
        .send({ name: `a-peer-${cidr.split('.')[1]}`, cidr_block: cidr });
      expect(vpc.status, JSON.stringify(vpc.body)).toBe(201);
      vpcIds.push(vpc.body.id as string);
    }
    const res = await t
      .http()
      .post('/vpc-peerings')
      .set(bearer(a.accessToken))
      .send({ requester_vpc_id: vpcIds[0], accepter_vpc_id: vpcIds[1] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  },
  // PUT /admin/prices/{sku}: the platform's price catalog (operators only), a SKU that exists.
  price: () => Promise.resolve('storage:gb'),
  // Buckets are named, not numbered; the walk calls object routes with the key "*" (the
  // route's wildcard), so the fixture holds an object of that key.
  bucket: async ({ t, a }) => {
    const name = `isolation-${Math.random().toString(36).slice(2, 12)}`;
    const res = await conformingHttp(t)
      .post('/storage/buckets')
      .set(bearer(a.accessToken))
      .send({ name });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const put = await t
      .http()
      .put(`/storage/${name}/*`)
      .set(bearer(a.accessToken))
      .set('content-type', 'text/plain')
      .send('fixture');
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    return name;
  },
  // The wildcard of /storage/{bucket}/{path}: the object the bucket fixture holds.
  object_key: () => Promise.resolve('*'),
  lifecycle: async (ctx) => {
    const bucket = await FIXTURES.bucket(ctx);
    const res = await ctx.t
      .http()
      .post(`/storage/buckets/${bucket}/lifecycle`)
      .set(bearer(ctx.a.accessToken))
      .send({ prefix: 'logs/', expiration_days: 30 });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  },
  upload: async (ctx) => {
    const bucket = await FIXTURES.bucket(ctx);
    const res = await ctx.t
      .http()
      .post(`/storage/multipart/init/${bucket}/big.bin`)
      .set(bearer(ctx.a.accessToken));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  },
};

/** Kinds named differently in some paths: `/logs/{resource_id}` reads an instance's logs. */
const KIND_ALIASES: Record<string, string> = {
  resource: 'instance',
  // /storage/{bucket}/*, /storage/versions/{bucket}/*, /storage/multipart/init/{bucket}/*...
  storage: 'bucket',
  '{bucket}': 'object_key',
  version: 'bucket',
  init: 'bucket',
  presign: 'bucket',
  complete: 'upload',
  abort: 'upload',
};

/**
 * Routes no caller's credential opens: a presigned URL is authorized by its own signature (a
 * wrong one is 403 for anyone; test/e2e/storage.e2e.spec.ts).
 */
const SIGNED_URL_ROUTES = /^\/storage\/presigned\//;

const IGNORED_EVENT_TYPES = ['AccessDenied'];

describe('tenant isolation over every route of /openapi.json (e2e)', () => {
  let t: TestApp;
  let a: Account;
  let b: Account;
  const ids = new Map<string, string>();
  let operations: OpenApiOperation[] = [];
  let resolve: (s: OpenApiSchema) => OpenApiSchema;

  beforeAll(async () => {
    // The simulated container engine: this test is about the HTTP surface, not the data plane.
    t = await startTestApp({
      label: 'isolation',
      config: {
        authRateLimitPerMinute: 100_000,
        docker: 'simulated',
        webhooksAllowPrivateTargets: true,
      },
    });
    a = await signUp(t, 'tenant-a');
    b = await signUp(t, 'tenant-b');
    // The fixtures make more VPCs in tenant A than the default quota allows.
    await t.app
      .get(QuotaService)
      .override(
        a.tenantId,
        { vpcs: 20 },
        systemContext('isolation-test', { tenantId: a.tenantId }),
      );
    ({ operations, resolve } = await openApiOperations(t));
    operations = operations.filter((op) => !SIGNED_URL_ROUTES.test(op.path));
  });
  afterAll(async () => {
    await t?.close();
  });

  async function idOf(kind: string, route: string): Promise<string> {
    const known = ids.get(kind);
    if (known) return known;
    const fixture = FIXTURES[kind] ?? (await genericFixture(route));
    if (!fixture) {
      throw new Error(
        `${route}: cannot create a "${kind}" in tenant A (no POST on its collection answered with an id); add a fixture to FIXTURES in test/e2e/isolation.e2e.spec.ts`,
      );
    }
    const id = await fixture({ t, a });
    ids.set(kind, id);
    return id;
  }

  /** POST <collection> as A with a minimal body; the created resource's id, if any. */
  function genericFixture(route: string): Promise<Fixture | null> {
    const [, path] = route.split(' ');
    const collection = path.slice(0, path.indexOf('/{'));
    const create = operations.find((op) => op.method === 'post' && op.path === collection);
    if (!create || create.pathParams.length > 0) return Promise.resolve(null);
    return Promise.resolve(async () => {
      const body = create.bodySchema
        ? minimalValue(create.bodySchema, resolve, { uuid: a.userId })
        : {};
      const res = await t
        .http()
        .post(collection)
        .set(bearer(a.accessToken))
        .send(body as object);
      if (![200, 201, 202].includes(res.status) || typeof res.body?.id !== 'string') {
        throw new Error(
          `${route}: creating a fixture with POST ${collection} ${JSON.stringify(body)} answered ${res.status} ${JSON.stringify(res.body)}; add a fixture to FIXTURES in test/e2e/isolation.e2e.spec.ts`,
        );
      }
      return res.body.id as string;
    });
  }

  async function urlOf(op: OpenApiOperation): Promise<string> {
    let url = op.path;
    for (const param of op.pathParams) {
      const kind = resourceKindOf(op.path, param);
      const id = await idOf(KIND_ALIASES[kind] ?? kind, `${op.method.toUpperCase()} ${op.path}`);
      url = url.replace(`{${param}}`, encodeURIComponent(id));
    }
    return url;
  }

  it('finds the routes with path parameters', () => {
    const withParams = operations.filter((op) => op.pathParams.length > 0);
    expect(withParams.length).toBeGreaterThanOrEqual(8);
  });

  it("answers 404 to tenant B for every route naming tenant A's resources, and appends nothing", async () => {
    const withParams = operations.filter((op) => op.pathParams.length > 0);
    // Create every fixture first, so the event counts below only see the calls under test.
    for (const op of withParams) await urlOf(op);
    const failures: string[] = [];
    for (const op of withParams) {
      const url = await urlOf(op);
      const body = op.bodySchema
        ? minimalValue(op.bodySchema, resolve, { uuid: b.userId })
        : undefined;
      for (const [label, headers] of [
        ['JWT', bearer(b.accessToken)],
        ['API key', { 'x-api-key': b.apiKey }],
      ] as const) {
        // A fixture's saga (a database failing on simulated Docker) may still be compensating.
        await t.app.get<SagaRuntime>(SAGA_RUNTIME).idle();
        const before = await countEvents(t, IGNORED_EVENT_TYPES);
        const agent = conformingHttp(t);
        const method = op.method as 'get' | 'post' | 'put' | 'patch' | 'delete';
        let req = agent[method](url).set(headers);
        if (body !== undefined) req = req.send(body as object);
        const res = await req;
        const after = await countEvents(t, IGNORED_EVENT_TYPES);
        const expected = op.path.startsWith('/admin/') ? [403] : [404];
        if (!expected.includes(res.status)) {
          failures.push(
            `${op.method.toUpperCase()} ${op.path} as B (${label}): ${res.status} ${JSON.stringify(res.body)}`,
          );
        }
        if (after !== before)
          failures.push(
            `${op.method.toUpperCase()} ${op.path} as B (${label}) appended ${after - before} event(s): ${(await newestEvents(t, after - before)).join(', ')}`,
          );
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers 401 to conflicting credentials on every route naming tenant A's resources, and appends nothing", async () => {
    const withParams = operations.filter((op) => op.pathParams.length > 0);
    for (const op of withParams) await urlOf(op);
    const invalidKey = 'nimbus_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
    // Each holds a valid credential of A, so none may act as A.
    const conflicts: ReadonlyArray<readonly [string, Record<string, string>]> = [
      ["A's JWT + B's key", { ...bearer(a.accessToken), 'x-api-key': b.apiKey }],
      ["B's JWT + A's key", { ...bearer(b.accessToken), 'x-api-key': a.apiKey }],
      ["B's key as bearer + A's key", { ...bearer(b.apiKey), 'x-api-key': a.apiKey }],
      ["A's key + an invalid bearer", { authorization: 'Bearer garbage', 'x-api-key': a.apiKey }],
      ["A's JWT + an invalid key", { ...bearer(a.accessToken), 'x-api-key': invalidKey }],
      [
        "A's key + a non-Bearer Authorization",
        { authorization: 'Basic YTpi', 'x-api-key': a.apiKey },
      ],
    ];
    const failures: string[] = [];
    const before = await countEvents(t, IGNORED_EVENT_TYPES);
    for (const op of withParams) {
      const url = await urlOf(op);
      const body = op.bodySchema
        ? minimalValue(op.bodySchema, resolve, { uuid: a.userId })
        : undefined;
      for (const [label, headers] of conflicts) {
        const method = op.method as 'get' | 'post' | 'put' | 'patch' | 'delete';
        let req = conformingHttp(t)[method](url).set(headers);
        if (body !== undefined) req = req.send(body as object);
        const res = await req;
        if (res.status !== 401 || res.body?.error?.code !== 'unauthorized') {
          failures.push(
            `${op.method.toUpperCase()} ${op.path} with ${label}: ${res.status} ${JSON.stringify(res.body)}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
    // Counted once for the whole walk (a 401 from the guard reaches no handler).
    expect(await countEvents(t, IGNORED_EVENT_TYPES)).toBe(before);
  }, 300_000);

  it('the same GET routes answer tenant A (the fixtures are real resources)', async () => {
    const gets = operations.filter(
      (op) => op.pathParams.length > 0 && op.method === 'get' && !op.path.startsWith('/admin/'),
    );
    for (const op of gets) {
      const res = await t
        .http()
        .get(await urlOf(op))
        .set(bearer(a.accessToken));
      // These need a RUNNING engine, which the simulated Docker cannot give: a 409 invalid_state
      // still proves the route found A's resource.
      const expected = NEEDS_RUNNING_ENGINE.has(op.path) ? 409 : 200;
      expect(res.status, `${op.path}: ${JSON.stringify(res.body)}`).toBe(expected);
    }
  });
});
