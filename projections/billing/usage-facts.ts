/**
 * From compute lifecycle events to the billing meter's usage facts (src/billing/domain/meter.ts).
 * Pure: the projection keeps one `MeteredResource` per instance or volume and calls
 * `usageFactsOf` for each event in log order.
 *
 * | event                                         | fact                                    |
 * | --------------------------------------------- | --------------------------------------- |
 * | InstanceLaunchRequested, InstanceRenamed      | none (remembers tenant, name)           |
 * | InstanceStarted (launch, start, engine)       | UsageStarted instance-hours at its type |
 * |                                               | (none for a managed machine: its owner  |
 * |                                               | bills it, a cluster as node-hours)      |
 * | InstancePaused / InstanceResumed / Rebooted   | none: PAUSED is billed like RUNNING     |
 * | InstanceResized                               | UsagePriceChanged (ignored when stopped)|
 * | InstanceStopRequested, InstanceStopped,       | UsageStopped                            |
 * | InstanceTerminationRequested, ...Terminated,  |                                         |
 * | InstanceFailed, InstanceLaunchFailed          |                                         |
 * | VolumeCreated                                 | UsageStarted gb-hours x size            |
 * | VolumeDeleted                                 | UsageStopped                            |
 * | ElasticIpAllocated / ElasticIpReleased        | UsageStarted eip-hours / UsageStopped   |
 * | NatGatewayActivated / Failed, DeletionStarted | UsageStarted natgw-hours / UsageStopped |
 * | ClusterProvisioned                            | UsageStarted cluster-hours, and         |
 * |                                               | UsageStarted node-hours x workers       |
 * | ClusterOperationFinished (scale, repair)      | UsagePriceChanged node-hours x workers  |
 * | ClusterDeletionStarted                        | UsageStopped (both)                     |
 * | BucketCreated                                 | none (remembers tenant, name)           |
 * | ObjectVersionCreated, ObjectDeleteMarker-     | the bucket's stored bytes change by the |
 * | Created, ObjectVersionRemoved / Expired       | event's delta: UsageStarted object-gb-  |
 * |                                               | hours x bytes, UsageStopped at 0 bytes  |
 * | BucketDeleted                                 | UsageStopped                            |
 *
 * Which events the meter reads, and what each means for it (`open`, `rename`, `start`, `reprice`,
 * `quantity`, `stop`, `adjust`), is declared by the owning context's resource-kind descriptor (`billing`,
 * e.g. src/compute/resources.ts); the facts above are what those roles mean for each meter. A
 * family with several meters (a cluster: cluster-hours and node-hours) gives one lookup per meter
 * (`ResourceCatalog.meteringsOf`); each further meter's usage has its own id (`usageIdOf`).
 *
 * Prices come from the price catalog in force at the time (src/billing/pricing, `PriceSet` events),
 * through `priceAt`: a volume starts at the `storage:gb` price in force at its creation, an
 * instance at the `instance:<type>` price in force at its start or resize. Before the catalog
 * priced a SKU (history older than the catalog), an instance uses the price snapshot its event
 * carries and a volume `STORAGE_PRICE_PER_GB_HOUR`; the initial catalog has the same prices, so
 * the two agree. Later price changes reach open usage through `applyScheduledPrices`.
 *
 * A bucket (object storage) is metered in bytes (`object-gb-hours`, priced per GiB-hour under
 * `storage:object-gb`): each object event adds its `storedBytesDelta` (a multipart completion is
 * an `ObjectVersionCreated` like any PUT; a replaced or removed version gives its bytes back) to
 * the bytes of the bucket's open usage, which restarts at the new quantity, and stops at zero.
 */
import type { MeterName, UsageFact } from '../../src/billing/domain/meter';
import type { Micros } from '../../src/billing/domain/money';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { MeteredEventType } from '../../src/platform/resources/resource-catalog';
import { toEpochSeconds } from '../../src/billing/domain/period';
import { uuidV5 } from '../../src/common/ids';
import { MANAGED_INSTANCE_TYPE } from '../../src/compute/domain/instance';
import {
  CACHE_MEMORY_SKU,
  CACHE_SKU,
  CLUSTER_NODE_SKU,
  CLUSTER_SKU,
  DATABASE_SKU,
  DATABASE_STORAGE_SKU,
  ELASTIC_IP_SKU,
  INITIAL_CACHE_PRICE_PER_HOUR,
  INITIAL_CLUSTER_NODE_PRICE_PER_HOUR,
  INITIAL_CLUSTER_PRICE_PER_HOUR,
  INITIAL_DATABASE_PRICE_PER_HOUR,
  INITIAL_ELASTIC_IP_PRICE_PER_HOUR,
  INITIAL_NAT_GATEWAY_PRICE_PER_HOUR,
  INITIAL_OBJECT_STORAGE_PRICE_PER_GB_HOUR,
  instanceSku,
  NAT_GATEWAY_SKU,
  OBJECT_STORAGE_SKU,
  STORAGE_SKU,
} from '../../src/billing/domain/price-catalog';

/** The catalog price of a SKU in force at an instant (epoch seconds), null when not priced yet. */
export type PriceLookup = (sku: string, at: number) => Micros | null;

const NO_CATALOG: PriceLookup = () => null;

/** 0.000140 USD per GB-hour (about 0.10 USD per GB-month). */
export const STORAGE_PRICE_PER_GB_HOUR: Micros = 140n;

/** How the meter reads an event type (undefined: not billed): `ResourceCatalog.meteringOf`. */
export type MeteringLookup = (eventType: string) => MeteredEventType | undefined;

/** What the projection remembers about a resource besides its meter. */
export interface MeteredResource {
  resourceId: string;
  kind:
    | 'instance'
    | 'volume'
    | 'elastic_ip'
    | 'nat_gateway'
    | 'cluster'
    | 'database'
    | 'cache'
    | 'bucket';
  tenantId: string | null;
  name: string;
  /** The SKU its usage is billed under (`instance:<type>`, `storage:gb`); null before any usage. */
  sku: string | null;
  /**
   * The size a sized meter bills (a cache's memory in MiB, a database's allocated GB), remembered
   * from the resource's opening or resizing event for the start events that do not carry it;
   * null for other meters.
   */
  size: number | null;
}

interface TypeSnapshot {
  id: string;
  pricePerHourMicroUsd: number;
}

type Data = Record<string, unknown>;

function text(data: Data, key: string): string | null {
  const value = data[key];
  return typeof value === 'string' ? value : null;
}

function typeSnapshot(value: unknown): TypeSnapshot | null {
  if (typeof value !== 'object' || value === null) return null;
  const t = value as Record<string, unknown>;
  if (typeof t.id !== 'string' || !Number.isSafeInteger(t.pricePerHourMicroUsd)) return null;
  if ((t.pricePerHourMicroUsd as number) < 0) return null;
  return { id: t.id, pricePerHourMicroUsd: t.pricePerHourMicroUsd as number };
}

/**
 * The id usage is kept under: the resource's own id for its family's first meter, uuid v5 of
 * `<resource id>/<usageKey>` for a further one (a cluster's worker nodes: `<cluster id>/nodes`).
 */
export function usageIdOf(resourceId: string, usageKey: string | undefined): string {
  return usageKey ? uuidV5(`${resourceId}/${usageKey}`) : resourceId;
}

/** The id an event's usage is kept under, or null for events billing does not meter. */
export function meteredResourceIdOf(
  event: Pick<RecordedEvent, 'type' | 'data'>,
  metering: MeteringLookup,
): string | null {
  const how = metering(event.type);
  const id = how ? text((event.data ?? {}) as Data, how.resourceIdField) : null;
  return how && id ? usageIdOf(id, how.usageKey) : null;
}

/** A non-negative integer at `path` of an event's data, or null. */
function sizeAt(...path: string[]): (data: Data) => number | null {
  return (data) => {
    let value: unknown = data;
    for (const key of path) {
      value = typeof value === 'object' && value !== null ? (value as Data)[key] : undefined;
    }
    return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : null;
  };
}

/** Worker nodes in an event's `nodes` (ClusterProvisioned, ClusterOperationFinished), or null. */
function workerCount(data: Data): number | null {
  const nodes = data.nodes;
  if (!Array.isArray(nodes)) return null;
  return nodes.filter(
    (n: unknown) =>
      typeof n === 'object' && n !== null && (n as Record<string, unknown>).role === 'worker',
  ).length;
}

const KIND_OF_METER: Record<MeterName, MeteredResource['kind']> = {
  'instance-hours': 'instance',
  'gb-hours': 'volume',
  'eip-hours': 'elastic_ip',
  'natgw-hours': 'nat_gateway',
  'cluster-hours': 'cluster',
  'node-hours': 'cluster',
  'database-hours': 'database',
  'cache-hours': 'cache',
  'database-storage-hours': 'database',
  'cache-memory-hours': 'cache',
  'object-gb-hours': 'bucket',
};

/**
 * Meters billed at one flat price per hour of their SKU (no type snapshot): the event that
 * starts usage names the resource in `nameField` (an elastic IP by its address). `quantityOf`
 * reads the quantity from a `start` or `quantity` event (1 when absent; null: malformed). A sized
 * meter bills `sizeOf` of its opening event (remembered as the resource's `size`, changed by its
 * `quantity` events), from that event on when it `startsOnOpen`, else from its `start` events.
 */
const FLAT_RATE_METERS: Partial<
  Record<
    MeterName,
    {
      sku: string;
      initialPrice: Micros;
      label: string;
      nameField: string;
      quantityOf?: (data: Data) => number | null;
      sizeOf?: (data: Data) => number | null;
      /** How a description names the size: `Memory of cache c1 (512 MiB)`. */
      sizeUnit?: string;
      startsOnOpen?: boolean;
    }
  >
> = {
  'eip-hours': {
    sku: ELASTIC_IP_SKU,
    initialPrice: INITIAL_ELASTIC_IP_PRICE_PER_HOUR,
    label: 'Elastic IP',
    nameField: 'publicIp',
  },
  'natgw-hours': {
    sku: NAT_GATEWAY_SKU,
    initialPrice: INITIAL_NAT_GATEWAY_PRICE_PER_HOUR,
    label: 'NAT gateway',
    nameField: 'publicIp',
  },
  'cluster-hours': {
    sku: CLUSTER_SKU,
    initialPrice: INITIAL_CLUSTER_PRICE_PER_HOUR,
    label: 'Kubernetes cluster',
    nameField: 'name',
  },
  'node-hours': {
    sku: CLUSTER_NODE_SKU,
    initialPrice: INITIAL_CLUSTER_NODE_PRICE_PER_HOUR,
    label: 'Worker nodes of Kubernetes cluster',
    nameField: 'name',
    quantityOf: workerCount,
  },
  'database-hours': {
    sku: DATABASE_SKU,
    initialPrice: INITIAL_DATABASE_PRICE_PER_HOUR,
    label: 'Database',
    nameField: 'name',
  },
  'cache-hours': {
    sku: CACHE_SKU,
    initialPrice: INITIAL_CACHE_PRICE_PER_HOUR,
    label: 'Cache',
    nameField: 'name',
  },
  // Allocated storage is billed from the request to the deletion, running or stopped, as a
  // volume is: the data volume exists all that time. The sized meters came after the catalog:
  // history from before the catalog priced their SKUs bills 0 (a new meter never bills the past;
  // the catalog's first price splits usage open across it).
  'database-storage-hours': {
    sku: DATABASE_STORAGE_SKU,
    initialPrice: 0n,
    label: 'Storage of database',
    nameField: 'name',
    sizeOf: sizeAt('settings', 'allocatedStorageGb'),
    sizeUnit: 'GB',
    startsOnOpen: true,
  },
  'cache-memory-hours': {
    sku: CACHE_MEMORY_SKU,
    initialPrice: 0n,
    label: 'Memory of cache',
    nameField: 'name',
    sizeOf: sizeAt('memoryMb'),
    sizeUnit: 'MiB',
  },
};

function sizedDescription(
  flat: { label: string; sizeUnit?: string },
  name: string,
  quantity: number,
): string {
  return `${flat.label} ${name} (${quantity} ${flat.sizeUnit ?? ''})`;
}

export function instanceDescription(name: string, typeId: string): string {
  return `Instance ${name} (${typeId})`;
}

export function volumeDescription(name: string, sizeGb: number): string {
  return `Volume ${name} (${sizeGb} GB)`;
}

export function bucketDescription(name: string, bytes: number): string {
  return `Bucket ${name} (${bytes} bytes)`;
}

export interface UsageStep {
  resource: MeteredResource;
  facts: UsageFact[];
}

/**
 * The facts one event contributes for its resource, and the resource's remembered details after
 * it. `resource` is null before the resource's first event. Unknown or malformed events give no
 * fact (history is never rejected). `openQuantity` is the quantity of the resource's open usage
 * (0 when none): an `adjust` event changes it.
 */
export function usageFactsOf(
  event: Pick<RecordedEvent, 'type' | 'data' | 'metadata'>,
  resource: MeteredResource | null,
  metering: MeteringLookup,
  priceAt: PriceLookup = NO_CATALOG,
  openQuantity = 0,
): UsageStep | null {
  const data = (event.data ?? {}) as Data;
  const how = metering(event.type);
  const ownId = how ? text(data, how.resourceIdField) : null;
  if (!how || !ownId) return null;
  const resourceId = usageIdOf(ownId, how.usageKey);
  const at = text(data, 'at') ?? event.metadata.occurredAt;
  const kind = KIND_OF_METER[how.meter];
  const current: MeteredResource = resource ?? {
    resourceId,
    kind,
    tenantId: event.metadata.tenantId,
    name: '',
    sku: null,
    size: null,
  };
  const catalogPrice = (sku: string): Micros | null => priceAt(sku, toEpochSeconds(at));
  const flat = FLAT_RATE_METERS[how.meter];
  const flatStart = (resource: MeteredResource, quantity: number | null): UsageStep => {
    if (!flat || quantity === null) return { resource, facts: [] };
    const name = resource.name || (text(data, flat.nameField) ?? resourceId);
    return {
      resource: { ...resource, name, sku: flat.sku },
      facts: [
        {
          kind: 'UsageStarted',
          resourceId,
          meter: how.meter,
          unitPrice: catalogPrice(flat.sku) ?? flat.initialPrice,
          quantity,
          description: flat.sizeOf
            ? sizedDescription(flat, name, quantity)
            : `${flat.label} ${name}`,
          at,
        },
      ],
    };
  };

  switch (how.role) {
    case 'open': {
      const next: MeteredResource = {
        ...current,
        tenantId: text(data, 'tenantId') ?? current.tenantId,
        name: text(data, 'name') ?? current.name,
      };
      if (flat?.sizeOf) {
        const sized = { ...next, size: flat.sizeOf(data) ?? current.size };
        return flat.startsOnOpen ? flatStart(sized, sized.size) : { resource: sized, facts: [] };
      }
      if (how.meter !== 'gb-hours') return { resource: next, facts: [] };
      const sizeGb = data.sizeGb;
      if (!Number.isSafeInteger(sizeGb) || (sizeGb as number) < 0) {
        return { resource: next, facts: [] };
      }
      return {
        resource: { ...next, sku: STORAGE_SKU },
        facts: [
          {
            kind: 'UsageStarted',
            resourceId,
            meter: 'gb-hours',
            unitPrice: catalogPrice(STORAGE_SKU) ?? STORAGE_PRICE_PER_GB_HOUR,
            quantity: sizeGb as number,
            description: volumeDescription(next.name, sizeGb as number),
            at,
          },
        ],
      };
    }
    case 'rename':
      return { resource: { ...current, name: text(data, 'to') ?? current.name }, facts: [] };
    case 'start': {
      if (flat) {
        if (flat.quantityOf) return flatStart(current, flat.quantityOf(data));
        return flatStart(current, flat.sizeOf ? current.size : 1);
      }
      const type = typeSnapshot(data.instanceType);
      // A managed machine (a cluster's node) is billed by its owner: node-hours of the cluster.
      if (!type || type.id === MANAGED_INSTANCE_TYPE.id) return { resource: current, facts: [] };
      const sku = instanceSku(type.id);
      return {
        resource: { ...current, sku },
        facts: [
          {
            kind: 'UsageStarted',
            resourceId,
            meter: 'instance-hours',
            unitPrice: catalogPrice(sku) ?? BigInt(type.pricePerHourMicroUsd),
            quantity: 1,
            description: instanceDescription(current.name, type.id),
            at,
          },
        ],
      };
    }
    case 'reprice': {
      const type = typeSnapshot(data.to);
      if (!type) return { resource: current, facts: [] };
      const sku = instanceSku(type.id);
      return {
        resource: { ...current, sku },
        facts: [
          {
            kind: 'UsagePriceChanged',
            resourceId,
            unitPrice: catalogPrice(sku) ?? BigInt(type.pricePerHourMicroUsd),
            description: instanceDescription(current.name, type.id),
            at,
          },
        ],
      };
    }
    case 'quantity': {
      const quantity = flat?.quantityOf?.(data) ?? flat?.sizeOf?.(data) ?? null;
      const resized = flat?.sizeOf && quantity !== null ? { ...current, size: quantity } : current;
      if (!flat || quantity === null || current.sku !== flat.sku) {
        return { resource: resized, facts: [] };
      }
      // A change that leaves a sized quantity as it was (parameters only) splits nothing.
      if (flat.sizeOf && quantity === openQuantity) return { resource: resized, facts: [] };
      // The price in force now: scheduled changes already split the open usage before this fact.
      return {
        resource: resized,
        facts: [
          {
            kind: 'UsagePriceChanged',
            resourceId,
            unitPrice: catalogPrice(flat.sku) ?? flat.initialPrice,
            quantity,
            ...(flat.sizeOf ? { description: sizedDescription(flat, current.name, quantity) } : {}),
            at,
          },
        ],
      };
    }
    case 'stop':
      return { resource: current, facts: [{ kind: 'UsageStopped', resourceId, at }] };
    case 'adjust': {
      const delta = how.quantityDelta?.(event) ?? 0;
      if (how.meter !== 'object-gb-hours' || !Number.isSafeInteger(delta) || delta === 0) {
        return { resource: current, facts: [] };
      }
      const bytes = Math.max(0, openQuantity + delta);
      const resourceOut: MeteredResource = { ...current, sku: OBJECT_STORAGE_SKU };
      if (bytes === 0) {
        return { resource: resourceOut, facts: [{ kind: 'UsageStopped', resourceId, at }] };
      }
      return {
        resource: resourceOut,
        facts: [
          {
            kind: 'UsageStarted',
            resourceId,
            meter: 'object-gb-hours',
            unitPrice: catalogPrice(OBJECT_STORAGE_SKU) ?? INITIAL_OBJECT_STORAGE_PRICE_PER_GB_HOUR,
            quantity: bytes,
            description: bucketDescription(current.name || resourceId, bytes),
            at,
          },
        ],
      };
    }
  }
}
