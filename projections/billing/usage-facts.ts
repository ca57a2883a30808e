/**
 * From compute lifecycle events to the billing meter's usage facts (src/billing/domain/meter.ts).
 * Pure: the projection keeps one `MeteredResource` per instance or volume and calls
 * `usageFactsOf` for each event in log order.
 *
 * | event                                         | fact                                    |
 * | --------------------------------------------- | --------------------------------------- |
 * | InstanceLaunchRequested, InstanceRenamed      | none (remembers tenant, name)           |
 * | InstanceStarted (launch, start, engine)       | UsageStarted instance-hours at its type |
 * | InstancePaused / InstanceResumed / Rebooted   | none: PAUSED is billed like RUNNING     |
 * | InstanceResized                               | UsagePriceChanged (ignored when stopped)|
 * | InstanceStopRequested, InstanceStopped,       | UsageStopped                            |
 * | InstanceTerminationRequested, ...Terminated,  |                                         |
 * | InstanceFailed, InstanceLaunchFailed          |                                         |
 * | VolumeCreated                                 | UsageStarted gb-hours x size            |
 * | VolumeDeleted                                 | UsageStopped                            |
 * | ElasticIpAllocated / ElasticIpReleased        | UsageStarted eip-hours / UsageStopped   |
 * | NatGatewayActivated / Failed, DeletionStarted | UsageStarted natgw-hours / UsageStopped |
 *
 * Which events the meter reads, and what each means for it (`open`, `rename`, `start`, `reprice`,
 * `stop`), is declared by the owning context's resource-kind descriptor (`billing`, e.g.
 * src/compute/resources.ts); the facts above are what those roles mean for each meter.
 *
 * Prices come from the price catalog in force at the time (src/billing/pricing, `PriceSet` events),
 * through `priceAt`: a volume starts at the `storage:gb` price in force at its creation, an
 * instance at the `instance:<type>` price in force at its start or resize. Before the catalog
 * priced a SKU (history older than the catalog), an instance uses the price snapshot its event
 * carries and a volume `STORAGE_PRICE_PER_GB_HOUR`; the initial catalog has the same prices, so
 * the two agree. Later price changes reach open usage through `applyScheduledPrices`.
 */
import type { MeterName, UsageFact } from '../../src/billing/domain/meter';
import type { Micros } from '../../src/billing/domain/money';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import type { MeteredEventType } from '../../src/platform/resources/resource-catalog';
import { toEpochSeconds } from '../../src/billing/domain/period';
import {
  CACHE_SKU,
  CLUSTER_SKU,
  DATABASE_SKU,
  ELASTIC_IP_SKU,
  INITIAL_CACHE_PRICE_PER_HOUR,
  INITIAL_CLUSTER_PRICE_PER_HOUR,
  INITIAL_DATABASE_PRICE_PER_HOUR,
  INITIAL_ELASTIC_IP_PRICE_PER_HOUR,
  INITIAL_NAT_GATEWAY_PRICE_PER_HOUR,
  instanceSku,
  NAT_GATEWAY_SKU,
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
  kind: 'instance' | 'volume' | 'elastic_ip' | 'nat_gateway' | 'cluster' | 'database' | 'cache';
  tenantId: string | null;
  name: string;
  /** The SKU its usage is billed under (`instance:<type>`, `storage:gb`); null before any usage. */
  sku: string | null;
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

/** The instance or volume an event is about, or null for events billing does not meter. */
export function meteredResourceIdOf(
  event: Pick<RecordedEvent, 'type' | 'data'>,
  metering: MeteringLookup,
): string | null {
  const how = metering(event.type);
  return how ? text((event.data ?? {}) as Data, how.resourceIdField) : null;
}

const KIND_OF_METER: Record<MeterName, MeteredResource['kind']> = {
  'instance-hours': 'instance',
  'gb-hours': 'volume',
  'eip-hours': 'elastic_ip',
  'natgw-hours': 'nat_gateway',
  'cluster-hours': 'cluster',
  'database-hours': 'database',
  'cache-hours': 'cache',
};

/**
 * Meters billed at one flat price per hour of their SKU (no type snapshot): the event that
 * starts usage names the resource in `nameField` (an elastic IP by its address).
 */
const FLAT_RATE_METERS: Partial<
  Record<MeterName, { sku: string; initialPrice: Micros; label: string; nameField: string }>
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
};

export function instanceDescription(name: string, typeId: string): string {
  return `Instance ${name} (${typeId})`;
}

export function volumeDescription(name: string, sizeGb: number): string {
  return `Volume ${name} (${sizeGb} GB)`;
}

export interface UsageStep {
  resource: MeteredResource;
  facts: UsageFact[];
}

/**
 * The facts one event contributes for its resource, and the resource's remembered details after
 * it. `resource` is null before the resource's first event. Unknown or malformed events give no
 * fact (history is never rejected).
 */
export function usageFactsOf(
  event: Pick<RecordedEvent, 'type' | 'data' | 'metadata'>,
  resource: MeteredResource | null,
  metering: MeteringLookup,
  priceAt: PriceLookup = NO_CATALOG,
): UsageStep | null {
  const data = (event.data ?? {}) as Data;
  const how = metering(event.type);
  const resourceId = how ? text(data, how.resourceIdField) : null;
  if (!how || !resourceId) return null;
  const at = text(data, 'at') ?? event.metadata.occurredAt;
  const kind = KIND_OF_METER[how.meter];
  const current: MeteredResource = resource ?? {
    resourceId,
    kind,
    tenantId: event.metadata.tenantId,
    name: '',
    sku: null,
  };
  const catalogPrice = (sku: string): Micros | null => priceAt(sku, toEpochSeconds(at));

  switch (how.role) {
    case 'open': {
      const next: MeteredResource = {
        ...current,
        tenantId: text(data, 'tenantId') ?? current.tenantId,
        name: text(data, 'name') ?? current.name,
      };
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
      const flat = FLAT_RATE_METERS[how.meter];
      if (flat) {
        const name = current.name || (text(data, flat.nameField) ?? resourceId);
        return {
          resource: { ...current, name, sku: flat.sku },
          facts: [
            {
              kind: 'UsageStarted',
              resourceId,
              meter: how.meter,
              unitPrice: catalogPrice(flat.sku) ?? flat.initialPrice,
              quantity: 1,
              description: `${flat.label} ${name}`,
              at,
            },
          ],
        };
      }
      const type = typeSnapshot(data.instanceType);
      if (!type) return { resource: current, facts: [] };
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
    case 'stop':
      return { resource: current, facts: [{ kind: 'UsageStopped', resourceId, at }] };
  }
}
