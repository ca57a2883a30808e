import { describe, expect, it } from 'vitest';
import {
  stepMeter,
  EMPTY_RESOURCE_METER,
  type UsageInterval,
} from '../../src/billing/domain/meter';
import { splitAtPeriods } from '../../src/billing/domain/statement';
import type { EventMetadata } from '../../src/eventstore/event-store';
import {
  INITIAL_CACHE_MEMORY_PRICE_PER_GB_HOUR,
  INITIAL_CACHE_PRICE_PER_HOUR,
  INITIAL_CLUSTER_NODE_PRICE_PER_HOUR,
  INITIAL_CLUSTER_PRICE_PER_HOUR,
  INITIAL_DATABASE_PRICE_PER_HOUR,
  INITIAL_DATABASE_STORAGE_PRICE_PER_GB_HOUR,
  knownSkus,
  priceInForce,
  type PriceChange,
} from '../../src/billing/domain/price-catalog';
import { applyScheduledPrices } from '../../src/billing/domain/scheduled-prices';
import { MANAGED_INSTANCE_TYPE } from '../../src/compute/domain/instance';
import { APP_RESOURCE_CATALOG } from '../../src/resource-kinds';
import {
  STORAGE_PRICE_PER_GB_HOUR,
  usageFactsOf,
  usageIdOf,
  type MeteredResource,
  type MeteringLookup,
  type PriceLookup,
} from './usage-facts';

/** The billing classification the contexts' resource-kind descriptors declare. */
const METERING: MeteringLookup = (type) => APP_RESOURCE_CATALOG.meteringOf(type);

const ID = '11111111-1111-4111-8111-111111111111';
const TENANT = 'tenant-a';
const basic1 = { id: 'basic-1', vcpus: 1, memoryMb: 512, pricePerHourMicroUsd: 10_000 };
const basic4 = { id: 'basic-4', vcpus: 2, memoryMb: 2048, pricePerHourMicroUsd: 40_000 };

const meta: EventMetadata = {
  tenantId: TENANT,
  actor: { type: 'system', id: 'test' },
  correlationId: 'c',
  causationId: null,
  requestId: null,
  sourceIp: null,
  occurredAt: '2026-01-01T00:00:00Z',
  schemaVersion: 1,
};

type Ev = [type: string, at: string, data?: Record<string, unknown>];

/** Folds events as the projection does; returns closed pieces (split at months) and the open usage. */
function run(
  events: Ev[],
  key: 'instanceId' | 'volumeId' | 'databaseId' | 'cacheId' | 'clusterId' = 'instanceId',
  metering: MeteringLookup = METERING,
  priceAt?: PriceLookup,
) {
  let resource: MeteredResource | null = null;
  let meter = EMPTY_RESOURCE_METER;
  const closed: UsageInterval[] = [];
  for (const [type, at, data] of events) {
    const step = usageFactsOf(
      { type, data: { [key]: ID, at, ...data }, metadata: meta },
      resource,
      metering,
      priceAt,
    );
    if (!step) continue;
    resource = step.resource;
    for (const fact of step.facts) {
      if (fact.kind === 'UsageStopped' && meter.open === null) continue;
      const r = stepMeter(meter, fact);
      meter = r.next;
      if (r.closed) closed.push(r.closed);
    }
  }
  const pieces = closed.flatMap((c) => splitAtPeriods(c));
  return {
    resource,
    open: meter.open,
    ids: [...new Set(pieces.map((p) => p.resourceId))],
    pieces: pieces.map((p) => ({
      period: p.period,
      seconds: p.end - p.start,
      price: p.unitPrice,
      quantity: p.quantity,
      amount: p.amount,
      description: p.description,
    })),
  };
}

const launch: Ev = [
  'InstanceLaunchRequested',
  '2026-01-10T00:00:00Z',
  { tenantId: TENANT, name: 'web', instanceType: basic1 },
];

describe('billing: compute events to usage', () => {
  it.each<[string, Ev[], Array<{ period: string; seconds: number; amount: bigint }>, boolean]>([
    [
      'start then stop: one hour at basic-1 = 10_000 micros x 3600 s',
      [
        launch,
        ['InstanceStarted', '2026-01-10T00:00:05Z', { instanceType: basic1 }],
        ['InstanceStopRequested', '2026-01-10T01:00:05Z'],
        ['InstanceStopped', '2026-01-10T01:00:09Z'],
      ],
      [{ period: '2026-01', seconds: 3600, amount: 10_000n * 3600n }],
      false,
    ],
    [
      'pause keeps billing; terminate ends it',
      [
        launch,
        ['InstanceStarted', '2026-01-10T00:00:00Z', { instanceType: basic1 }],
        ['InstancePaused', '2026-01-10T00:10:00Z'],
        ['InstanceResumed', '2026-01-10T00:20:00Z'],
        ['InstanceTerminationRequested', '2026-01-10T00:30:00Z'],
        ['InstanceTerminated', '2026-01-10T00:30:02Z'],
      ],
      [{ period: '2026-01', seconds: 1800, amount: 10_000n * 1800n }],
      false,
    ],
    [
      'resize while running splits at the new price',
      [
        launch,
        ['InstanceStarted', '2026-01-10T00:00:00Z', { instanceType: basic1 }],
        [
          'InstanceResized',
          '2026-01-10T00:15:00Z',
          { from: basic1, to: basic4, status: 'RUNNING' },
        ],
        ['InstanceStopRequested', '2026-01-10T00:45:00Z'],
      ],
      [
        { period: '2026-01', seconds: 900, amount: 10_000n * 900n },
        { period: '2026-01', seconds: 1800, amount: 40_000n * 1800n },
      ],
      false,
    ],
    [
      'resize while stopped bills the new price from the next start',
      [
        launch,
        ['InstanceStarted', '2026-01-10T00:00:00Z', { instanceType: basic1 }],
        ['InstanceStopRequested', '2026-01-10T00:01:00Z'],
        [
          'InstanceResized',
          '2026-01-10T00:02:00Z',
          { from: basic1, to: basic4, status: 'STOPPED' },
        ],
        ['InstanceStarted', '2026-01-10T00:03:00Z', { instanceType: basic4 }],
        ['InstanceStopped', '2026-01-10T00:04:00Z'],
      ],
      [
        { period: '2026-01', seconds: 60, amount: 10_000n * 60n },
        { period: '2026-01', seconds: 60, amount: 40_000n * 60n },
      ],
      false,
    ],
    [
      "a cluster's node (a managed instance) is not billed as an instance: the cluster bills it",
      [
        [
          'InstanceLaunchRequested',
          '2026-01-10T00:00:00Z',
          { tenantId: TENANT, name: 'prod-worker-0', instanceType: MANAGED_INSTANCE_TYPE },
        ],
        ['InstanceStarted', '2026-01-10T00:00:00Z', { instanceType: MANAGED_INSTANCE_TYPE }],
        ['InstanceTerminationRequested', '2026-01-10T05:00:00Z'],
        ['InstanceTerminated', '2026-01-10T05:00:00Z'],
      ],
      [],
      false,
    ],
    [
      'running across midnight of the 1st is split exactly',
      [
        launch,
        ['InstanceStarted', '2026-01-31T23:00:00Z', { instanceType: basic1 }],
        ['InstanceFailed', '2026-02-01T00:30:00Z', { cause: 'container_vanished' }],
      ],
      [
        { period: '2026-01', seconds: 3600, amount: 10_000n * 3600n },
        { period: '2026-02', seconds: 1800, amount: 10_000n * 1800n },
      ],
      false,
    ],
    [
      'still running: nothing closed, usage open',
      [
        launch,
        ['InstanceStarted', '2026-01-10T00:00:00Z', { instanceType: basic1 }],
        ['InstanceRebooted', '2026-01-10T00:05:00Z'],
      ],
      [],
      true,
    ],
    [
      'a launch that fails bills nothing',
      [launch, ['InstanceLaunchFailed', '2026-01-10T00:00:09Z', { step: 'create_container' }]],
      [],
      false,
    ],
  ])('%s', (_name, events, expected, open) => {
    const result = run(events);
    expect(
      result.pieces.map(({ period, seconds, amount }) => ({ period, seconds, amount })),
    ).toEqual(expected);
    expect(result.open !== null).toBe(open);
    expect(result.resource?.tenantId).toBe(TENANT);
  });

  it('names the instance and its type, and follows a rename', () => {
    const r = run([
      launch,
      ['InstanceRenamed', '2026-01-10T00:00:01Z', { from: 'web', to: 'api' }],
      ['InstanceStarted', '2026-01-10T00:00:02Z', { instanceType: basic4 }],
    ]);
    expect(r.open?.description).toBe('Instance api (basic-4)');
    expect(r.open?.unitPrice).toBe(40_000n);
  });

  it('bills a volume per GB-hour from creation to deletion', () => {
    const r = run(
      [
        ['VolumeCreated', '2026-03-01T00:00:00Z', { tenantId: TENANT, name: 'data', sizeGb: 100 }],
        ['VolumeAttached', '2026-03-01T00:10:00Z', { instanceId: 'x', mountPath: '/data' }],
        ['VolumeDeleted', '2026-03-01T02:00:00Z', { sizeGb: 100 }],
      ],
      'volumeId',
    );
    expect(r.pieces).toEqual([
      {
        period: '2026-03',
        seconds: 7200,
        price: STORAGE_PRICE_PER_GB_HOUR,
        quantity: 100,
        amount: STORAGE_PRICE_PER_GB_HOUR * 100n * 7200n,
        description: 'Volume data (100 GB)',
      },
    ]);
  });

  it('bills a database per hour while it runs: not while stopped, not after its delete starts', () => {
    const r = run(
      [
        ['DatabaseCreated', '2026-03-01T00:00:00Z', { tenantId: TENANT, name: 'orders' }],
        ['DatabaseRunning', '2026-03-01T00:01:00Z', {}],
        ['DatabaseStopped', '2026-03-01T01:01:00Z', {}],
        ['DatabaseStarted', '2026-03-01T05:00:00Z', {}],
        ['DatabaseDeletionStarted', '2026-03-01T05:30:00Z', {}],
      ],
      'databaseId',
    );
    const piece = (seconds: number) => ({
      period: '2026-03',
      seconds,
      price: INITIAL_DATABASE_PRICE_PER_HOUR,
      quantity: 1,
      amount: INITIAL_DATABASE_PRICE_PER_HOUR * BigInt(seconds),
      description: 'Database orders',
    });
    expect(r.pieces).toEqual([piece(3600), piece(1800)]);
    expect(r.open).toBeNull();
  });

  it('bills a cache from running until it fails, and a cluster from running until its delete', () => {
    const cache = run(
      [
        ['CacheCreated', '2026-03-01T00:00:00Z', { tenantId: TENANT, name: 'sessions' }],
        ['CacheRunning', '2026-03-01T00:00:10Z', {}],
        ['CacheFailed', '2026-03-01T00:10:10Z', { reason: 'gone' }],
      ],
      'cacheId',
    );
    expect(cache.pieces).toMatchObject([
      { seconds: 600, price: INITIAL_CACHE_PRICE_PER_HOUR, description: 'Cache sessions' },
    ]);
    const cluster = run(
      [
        ['ClusterCreated', '2026-03-01T00:00:00Z', { tenantId: TENANT, name: 'prod' }],
        ['ClusterProvisioned', '2026-03-01T00:05:00Z', {}],
        ['ClusterFailed', '2026-03-01T01:05:00Z', { message: 'repair failed' }],
        ['ClusterDeletionStarted', '2026-03-01T02:05:00Z', {}],
      ],
      'clusterId',
    );
    // A failed repair leaves the cluster there: billed until its delete starts.
    expect(cluster.pieces).toMatchObject([
      {
        seconds: 7200,
        price: INITIAL_CLUSTER_PRICE_PER_HOUR,
        description: 'Kubernetes cluster prod',
      },
    ]);
  });

  describe("by size: a database's allocated storage, a cache's memory", () => {
    const meterOf =
      (meter: string): MeteringLookup =>
      (type) =>
        APP_RESOURCE_CATALOG.meteringsOf(type).find((m) => m.meter === meter);
    /** The catalog as written at start-up, in force from the start of time. */
    const startupCatalog: PriceLookup = (sku) =>
      knownSkus().find((s) => s.sku === sku)?.initialPrice ?? null;
    const settings = (gb: number) => ({
      allocatedStorageGb: gb,
      poolingEnabled: false,
      metricsEnabled: false,
      parameters: {},
    });

    it("are each family's second meter, under their own usage ids", () => {
      expect(APP_RESOURCE_CATALOG.meteringsOf('DatabaseCreated').map((m) => m.meter)).toEqual([
        'database-hours',
        'database-storage-hours',
      ]);
      expect(APP_RESOURCE_CATALOG.meteringsOf('CacheRunning').map((m) => m.meter)).toEqual([
        'cache-hours',
        'cache-memory-hours',
      ]);
    });

    it('given a 20 GB database grown to 50 GB, stopped and deleted, then storage is billed from the request to the delete, stopped or not, at its size', () => {
      const r = run(
        [
          [
            'DatabaseCreated',
            '2026-03-01T00:00:00Z',
            { tenantId: TENANT, name: 'orders', settings: settings(20) },
          ],
          ['DatabaseRunning', '2026-03-01T00:01:00Z', {}],
          // parameters only: the size stays, nothing is split
          [
            'DatabaseModified',
            '2026-03-01T00:30:00Z',
            { settings: { ...settings(20), parameters: { work_mem: '8MB' } } },
          ],
          ['DatabaseModified', '2026-03-01T01:00:00Z', { settings: settings(50) }],
          ['DatabaseStopped', '2026-03-01T02:00:00Z', {}],
          ['DatabaseStarted', '2026-03-01T03:00:00Z', {}],
          ['DatabaseDeletionStarted', '2026-03-01T04:00:00Z', {}],
        ],
        'databaseId',
        meterOf('database-storage-hours'),
        startupCatalog,
      );
      const piece = (seconds: number, gb: number) => ({
        period: '2026-03',
        seconds,
        price: INITIAL_DATABASE_STORAGE_PRICE_PER_GB_HOUR,
        quantity: gb,
        amount: INITIAL_DATABASE_STORAGE_PRICE_PER_GB_HOUR * BigInt(gb * seconds),
        description: `Storage of database orders (${gb} GB)`,
      });
      expect(r.pieces).toEqual([piece(3600, 20), piece(3 * 3600, 50)]);
      expect(r.ids).toEqual([usageIdOf(ID, 'storage')]);
      expect(r.open).toBeNull();
    });

    it('given a delete whose final snapshot failed, then both meters pause for the attempt and run again from the abort', () => {
      const history: Array<[string, string, Record<string, unknown>]> = [
        [
          'DatabaseCreated',
          '2026-03-01T00:00:00Z',
          { tenantId: TENANT, name: 'orders', settings: settings(20) },
        ],
        ['DatabaseRunning', '2026-03-01T00:00:00Z', {}],
        ['DatabaseDeletionStarted', '2026-03-01T01:00:00Z', { finalSnapshotId: ID }],
        ['DatabaseDeletionAborted', '2026-03-01T01:10:00Z', { reason: 'pg_dump failed' }],
        ['DatabaseDeletionStarted', '2026-03-01T02:10:00Z', {}],
      ];
      const hours = run(history, 'databaseId', meterOf('database-hours'), startupCatalog);
      expect(hours.pieces.map((p) => p.seconds)).toEqual([3600, 3600]);
      expect(hours.open).toBeNull();
      const storage = run(history, 'databaseId', meterOf('database-storage-hours'), startupCatalog);
      expect(storage.pieces.map((p) => [p.seconds, p.quantity])).toEqual([
        [3600, 20],
        [3600, 20],
      ]);
      expect(storage.open).toBeNull();
    });

    it('given a database that fails while provisioning, then its storage is billed only until the failure', () => {
      const r = run(
        [
          [
            'DatabaseCreated',
            '2026-03-01T00:00:00Z',
            { tenantId: TENANT, name: 'orders', settings: settings(10) },
          ],
          ['DatabaseFailed', '2026-03-01T00:02:00Z', { reason: 'no readiness' }],
          ['DatabaseDeletionStarted', '2026-03-01T01:00:00Z', {}],
        ],
        'databaseId',
        meterOf('database-storage-hours'),
        startupCatalog,
      );
      expect(r.pieces).toMatchObject([{ seconds: 120, quantity: 10 }]);
    });

    it('given history older than the catalog price of the SKU, then it bills 0 (a new meter never bills the past)', () => {
      const r = run(
        [
          [
            'DatabaseCreated',
            '2026-03-01T00:00:00Z',
            { tenantId: TENANT, name: 'orders', settings: settings(10) },
          ],
          ['DatabaseDeletionStarted', '2026-03-01T01:00:00Z', {}],
        ],
        'databaseId',
        meterOf('database-storage-hours'),
      );
      expect(r.pieces).toMatchObject([{ seconds: 3600, quantity: 10, price: 0n, amount: 0n }]);
    });

    it('given a 512 MiB cache, then its memory is billed per MiB while it runs, at the GiB-hour price', () => {
      const r = run(
        [
          [
            'CacheCreated',
            '2026-03-01T00:00:00Z',
            { tenantId: TENANT, name: 'sessions', memoryMb: 512 },
          ],
          ['CacheRunning', '2026-03-01T00:00:10Z', {}],
          ['CacheStopped', '2026-03-01T02:00:10Z', {}],
          ['CacheRunning', '2026-03-01T03:00:10Z', {}],
          ['CacheDeletionStarted', '2026-03-01T04:00:10Z', {}],
        ],
        'cacheId',
        meterOf('cache-memory-hours'),
        startupCatalog,
      );
      const piece = (seconds: number) => ({
        period: '2026-03',
        seconds,
        price: INITIAL_CACHE_MEMORY_PRICE_PER_GB_HOUR,
        quantity: 512,
        // half a GiB
        amount: (INITIAL_CACHE_MEMORY_PRICE_PER_GB_HOUR * BigInt(seconds)) / 2n,
        description: 'Memory of cache sessions (512 MiB)',
      });
      expect(r.pieces).toEqual([piece(7200), piece(3600)]);
      expect(r.ids).toEqual([usageIdOf(ID, 'memory')]);
    });
  });

  describe("a cluster's worker nodes in node-hours", () => {
    /** The node-hours meter's reading of the cluster's events (its second meter). */
    const NODE_HOURS: MeteringLookup = (type) =>
      APP_RESOURCE_CATALOG.meteringsOf(type).find((m) => m.meter === 'node-hours');
    const NODES_ID = usageIdOf(ID, 'nodes');
    const nodes = (workers: number, ha = false) => [
      ...Array.from({ length: ha ? 3 : 1 }, (_, i) => ({
        name: `cp-${i}`,
        role: 'control-plane',
        version: 'v1.29.0',
      })),
      ...Array.from({ length: workers }, (_, i) => ({
        name: `worker-${i}`,
        role: 'worker',
        version: 'v1.29.0',
      })),
    ];
    const created: Ev = [
      'ClusterCreated',
      '2026-03-01T00:00:00Z',
      { tenantId: TENANT, name: 'prod', workers: 3, ha: true },
    ];
    const piece = (seconds: number, quantity: number) => ({
      period: '2026-03',
      seconds,
      price: INITIAL_CLUSTER_NODE_PRICE_PER_HOUR,
      quantity,
      amount: INITIAL_CLUSTER_NODE_PRICE_PER_HOUR * BigInt(quantity) * BigInt(seconds),
      description: 'Worker nodes of Kubernetes cluster prod',
    });

    it("is declared as the cluster family's second meter, under the nodes usage id", () => {
      expect(APP_RESOURCE_CATALOG.meteringsOf('ClusterProvisioned').map((m) => m.meter)).toEqual([
        'cluster-hours',
        'node-hours',
      ]);
      expect(APP_RESOURCE_CATALOG.meteringOf('ClusterProvisioned')?.meter).toBe('cluster-hours');
      expect(NODES_ID).not.toBe(ID);
      expect(NODES_ID).toBe(usageIdOf(ID, 'nodes'));
    });

    it('given 3 workers (HA: 3 control-plane nodes), when scaled to 5 then deleted, then 3 then 5 node-hours', () => {
      const r = run(
        [
          created,
          ['ClusterProvisioningStarted', '2026-03-01T00:00:01Z', {}],
          ['ClusterProvisioned', '2026-03-01T00:05:00Z', { nodes: nodes(3, true) }],
          // the request changes nothing: the quantity follows the nodes recorded as done
          ['ClusterScaleRequested', '2026-03-01T01:05:00Z', { from: 3, workers: 5 }],
          [
            'ClusterOperationFinished',
            '2026-03-01T01:10:00Z',
            { kind: 'scale', nodes: nodes(5, true), repaired: [], error: null },
          ],
          ['ClusterDeletionStarted', '2026-03-01T03:10:00Z', { previousStatus: 'running' }],
          ['ClusterDeleted', '2026-03-01T03:12:00Z', {}],
        ],
        'clusterId',
        NODE_HOURS,
      );
      expect(r.pieces).toEqual([piece(3900, 3), piece(7200, 5)]);
      expect(r.ids).toEqual([NODES_ID]);
      expect(r.open).toBeNull();
    });

    it('given a running cluster, then usage is open at its worker count; control-plane nodes are not counted', () => {
      const r = run(
        [created, ['ClusterProvisioned', '2026-03-01T00:05:00Z', { nodes: nodes(3, true) }]],
        'clusterId',
        NODE_HOURS,
      );
      expect(r.open).toMatchObject({
        resourceId: NODES_ID,
        meter: 'node-hours',
        unit: 'node-hour',
        resourceType: 'compute',
        quantity: 3,
        unitPrice: INITIAL_CLUSTER_NODE_PRICE_PER_HOUR,
      });
    });

    it('given a scale down to 0 workers, then the nodes are billed 0 from then on', () => {
      const r = run(
        [
          created,
          ['ClusterProvisioned', '2026-03-01T00:00:00Z', { nodes: nodes(2) }],
          [
            'ClusterOperationFinished',
            '2026-03-01T01:00:00Z',
            { kind: 'scale', nodes: nodes(0), repaired: [], error: null },
          ],
          ['ClusterDeletionStarted', '2026-03-01T02:00:00Z', {}],
        ],
        'clusterId',
        NODE_HOURS,
      );
      expect(r.pieces).toEqual([piece(3600, 2), piece(3600, 0)]);
    });

    it('given a cluster that fails while provisioning, then no node-hours at all, as no cluster-hours', () => {
      const events: Ev[] = [
        created,
        ['ClusterProvisioningStarted', '2026-03-01T00:00:01Z', {}],
        ['ClusterFailed', '2026-03-01T00:05:00Z', { message: 'no capacity' }],
        ['ClusterDeletionStarted', '2026-03-01T01:00:00Z', { previousStatus: 'failed' }],
      ];
      const nodeHours = run(events, 'clusterId', NODE_HOURS);
      const clusterHours = run(events, 'clusterId');
      expect(nodeHours.pieces).toEqual([]);
      expect(nodeHours.open).toBeNull();
      expect(clusterHours.pieces).toEqual([]);
    });

    it('given a failed repair, then its nodes are billed until the delete starts, as the control plane is', () => {
      const events: Ev[] = [
        created,
        ['ClusterProvisioned', '2026-03-01T00:00:00Z', { nodes: nodes(3) }],
        ['ClusterRepairRequested', '2026-03-01T01:00:00Z', {}],
        [
          'ClusterOperationFinished',
          '2026-03-01T01:10:00Z',
          { kind: 'repair', nodes: nodes(3), repaired: [], error: 'worker-1 did not join' },
        ],
        ['ClusterDeletionStarted', '2026-03-01T02:00:00Z', { previousStatus: 'failed' }],
      ];
      const nodeHours = run(events, 'clusterId', NODE_HOURS);
      // same worker count after the repair: one interval, not split
      expect(nodeHours.pieces).toEqual([piece(7200, 3)]);
      expect(run(events, 'clusterId').pieces).toMatchObject([
        { seconds: 7200, quantity: 1, price: INITIAL_CLUSTER_PRICE_PER_HOUR },
      ]);
    });

    it('ignores a node record without nodes, and an operation finished before running', () => {
      const r = run(
        [
          created,
          [
            'ClusterOperationFinished',
            '2026-03-01T00:01:00Z',
            { kind: 'repair', nodes: nodes(3), repaired: [], error: null },
          ],
          ['ClusterProvisioned', '2026-03-01T00:02:00Z', { nodes: 'garbled' }],
        ],
        'clusterId',
        NODE_HOURS,
      );
      expect(r.pieces).toEqual([]);
      expect(r.open).toBeNull();
    });
  });

  it('ignores events of other resources and malformed data', () => {
    expect(
      usageFactsOf({ type: 'UserRegistered', data: {}, metadata: meta }, null, METERING),
    ).toBeNull();
    const bad = usageFactsOf(
      {
        type: 'InstanceStarted',
        data: { instanceId: ID, instanceType: { id: 'x' } },
        metadata: meta,
      },
      null,
      METERING,
    );
    expect(bad?.facts).toEqual([]);
  });
});

describe('billing: prices from the catalog in force (as the projection folds them)', () => {
  const catalog: PriceChange[] = [
    { sku: 'instance:basic-1', unitPrice: 10_000n, effectiveAt: at('2026-01-01T00:00:00Z') },
    { sku: 'instance:basic-4', unitPrice: 40_000n, effectiveAt: at('2026-01-01T00:00:00Z') },
    { sku: 'instance:basic-1', unitPrice: 15_000n, effectiveAt: at('2026-01-20T00:00:00Z') },
    { sku: 'instance:basic-1', unitPrice: 99_000n, effectiveAt: at('2026-01-23T00:00:00Z') },
    { sku: 'storage:gb', unitPrice: 200n, effectiveAt: at('2026-02-01T00:00:00Z') },
  ].map((c) => ({ ...c, reason: 'test' }));

  function at(iso: string): number {
    return Date.parse(iso) / 1000;
  }

  function runWithCatalog(events: Ev[], key: 'instanceId' | 'volumeId' = 'instanceId') {
    const priceAt = (sku: string, t: number) => priceInForce(catalog, sku, t)?.unitPrice ?? null;
    let resource: MeteredResource | null = null;
    let meter = EMPTY_RESOURCE_METER;
    const closed: UsageInterval[] = [];
    for (const [type, when, data] of events) {
      const event = { type, data: { [key]: ID, at: when, ...data }, metadata: meta };
      const step = usageFactsOf(event, resource, METERING, priceAt);
      if (!step) continue;
      for (const fact of step.facts) {
        if (fact.kind === 'UsageStopped' && meter.open === null) continue;
        const scheduled = applyScheduledPrices(meter, resource?.sku ?? null, catalog, at(when));
        closed.push(...scheduled.closed);
        const r = stepMeter(scheduled.meter, fact);
        meter = r.next;
        if (r.closed) closed.push(r.closed);
      }
      resource = step.resource;
    }
    return {
      resource,
      open: meter.open,
      pieces: closed.map((c) => [c.unitPrice, (c.end - c.start) / 86_400]),
    };
  }

  it('a running instance is repriced at effectiveAt; after a resize, changes of the old type miss it', () => {
    const result = runWithCatalog([
      launch,
      ['InstanceStarted', '2026-01-10T00:00:00Z', { instanceType: basic1 }],
      // basic-1 goes to 15_000 on Jan 20: split there
      ['InstanceResized', '2026-01-22T00:00:00Z', { from: basic1, to: basic4 }],
      // basic-1 goes to 99_000 on Jan 23: a basic-4 instance is not affected
      ['InstanceStopped', '2026-01-25T00:00:00Z'],
    ]);
    expect(result.pieces).toEqual([
      [10_000n, 10],
      [15_000n, 2],
      [40_000n, 3],
    ]);
    expect(result.resource?.sku).toBe('instance:basic-4');
  });

  it('an instance starts at the catalog price in force, not the snapshot, once the SKU is priced', () => {
    const result = runWithCatalog([
      launch,
      ['InstanceStarted', '2026-01-21T00:00:00Z', { instanceType: basic1 }],
    ]);
    expect(result.open?.unitPrice).toBe(15_000n);
  });

  it('a volume starts at the storage price in force, or the constant before the SKU was priced', () => {
    const before = runWithCatalog(
      [['VolumeCreated', '2026-01-15T00:00:00Z', { tenantId: TENANT, name: 'd', sizeGb: 10 }]],
      'volumeId',
    );
    expect(before.open?.unitPrice).toBe(STORAGE_PRICE_PER_GB_HOUR);
    const after = runWithCatalog(
      [['VolumeCreated', '2026-02-02T00:00:00Z', { tenantId: TENANT, name: 'd', sizeGb: 10 }]],
      'volumeId',
    );
    expect(after.open?.unitPrice).toBe(200n);
    // created before the storage SKU was priced, deleted after: split at Feb 1 at 200
    const across = runWithCatalog(
      [
        ['VolumeCreated', '2026-01-30T00:00:00Z', { tenantId: TENANT, name: 'd', sizeGb: 10 }],
        ['VolumeDeleted', '2026-02-03T00:00:00Z'],
      ],
      'volumeId',
    );
    expect(across.pieces).toEqual([
      [140n, 2],
      [200n, 2],
    ]);
  });
});
