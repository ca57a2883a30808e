import { describe, expect, it } from 'vitest';
import {
  EMPTY_RESOURCE_METER,
  intervalAmount,
  stepMeter,
  type UsageInterval,
} from '../../src/billing/domain/meter';
import type { EventMetadata } from '../../src/eventstore/event-store';
import {
  INITIAL_OBJECT_STORAGE_PRICE_PER_GB_HOUR,
  OBJECT_STORAGE_SKU,
} from '../../src/billing/domain/price-catalog';
import { APP_RESOURCE_CATALOG } from '../../src/resource-kinds';
import { usageFactsOf, type MeteredResource, type MeteringLookup } from './usage-facts';

/** Object storage billing: a bucket's stored bytes, folded as the billing projection folds them. */
const METERING: MeteringLookup = (type) => APP_RESOURCE_CATALOG.meteringOf(type);
const BUCKET = '22222222-2222-4222-8222-222222222222';
const TENANT = 'tenant-a';
const GIB = 2 ** 30;

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

function version(id: string, sizeBytes: number | null) {
  return {
    versionId: id,
    blob: sizeBytes === null ? null : { blobId: `blob-${id}`, sizeBytes, sha256: 'x', etag: 'e' },
  };
}

type Ev = [type: string, at: string, data?: Record<string, unknown>];

const created: Ev = ['BucketCreated', '2026-01-10T00:00:00Z', { tenantId: TENANT, name: 'photos' }];
const put = (at: string, key: string, size: number, replaced: number | null = null): Ev => [
  'ObjectVersionCreated',
  at,
  {
    key,
    version: version(`${key}-${at}`, size),
    replaced: replaced === null ? null : version('null', replaced),
  },
];

function run(events: Ev[]) {
  let resource: MeteredResource | null = null;
  let meter = EMPTY_RESOURCE_METER;
  const closed: UsageInterval[] = [];
  for (const [type, at, data] of events) {
    const step = usageFactsOf(
      { type, data: { bucketId: BUCKET, objectId: 'o', at, ...data }, metadata: meta },
      resource,
      METERING,
      undefined,
      meter.open?.quantity ?? 0,
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
  return { resource, open: meter.open, closed };
}

describe('billing: object storage (a bucket metered by its stored bytes)', () => {
  it('the descriptors meter buckets and object versions by bucket id', () => {
    for (const type of [
      'BucketCreated',
      'BucketDeleted',
      'ObjectVersionCreated',
      'ObjectDeleteMarkerCreated',
      'ObjectVersionRemoved',
      'ObjectVersionExpired',
    ]) {
      expect(METERING(type)).toMatchObject({
        meter: 'object-gb-hours',
        resourceIdField: 'bucketId',
      });
    }
    expect(METERING('MultipartPartUploaded')).toBeUndefined();
    expect(METERING('MultipartUploadCompleted')).toBeUndefined();
  });

  it('an empty bucket is not billed', () => {
    const { resource, open, closed } = run([created]);
    expect(resource).toMatchObject({ kind: 'bucket', name: 'photos', tenantId: TENANT });
    expect(open).toBeNull();
    expect(closed).toEqual([]);
  });

  it('put 2 objects, delete one: the quantity follows the stored bytes', () => {
    const { open, closed, resource } = run([
      created,
      put('2026-01-10T01:00:00Z', 'a', 3 * GIB),
      put('2026-01-10T02:00:00Z', 'b', GIB),
      [
        'ObjectVersionRemoved',
        '2026-01-10T03:00:00Z',
        { key: 'a', removed: version('null', 3 * GIB) },
      ],
    ]);
    expect(resource?.sku).toBe(OBJECT_STORAGE_SKU);
    expect(closed.map((c) => [c.quantity, c.end - c.start, c.meter, c.unit])).toEqual([
      [3 * GIB, 3600, 'object-gb-hours', 'GB-hour'],
      [4 * GIB, 3600, 'object-gb-hours', 'GB-hour'],
    ]);
    expect(closed[1].description).toBe(`Bucket photos (${4 * GIB} bytes)`);
    expect(open).toMatchObject({
      quantity: GIB,
      unitPrice: INITIAL_OBJECT_STORAGE_PRICE_PER_GB_HOUR,
    });
    // 3 GiB for an hour at the per-GiB-hour price: exactly 3 x price x 3600 metered units.
    expect(intervalAmount(closed[0])).toBe(3n * INITIAL_OBJECT_STORAGE_PRICE_PER_GB_HOUR * 3600n);
  });

  it('a replaced null version and a delete marker give their bytes back; 0 bytes stops the usage', () => {
    const { open, closed } = run([
      created,
      put('2026-01-10T01:00:00Z', 'a', 1000),
      put('2026-01-10T01:00:10Z', 'a', 600, 1000),
      [
        'ObjectDeleteMarkerCreated',
        '2026-01-10T01:00:20Z',
        { key: 'a', version: version('marker', null), replaced: version('null', 600) },
      ],
      put('2026-01-10T01:00:30Z', 'b', 50),
    ]);
    expect(closed.map((c) => [c.quantity, c.end - c.start])).toEqual([
      [1000, 10],
      [600, 10],
    ]);
    expect(open).toMatchObject({ quantity: 50 });
    // Sub-GiB amounts are rounded half-even to a metered unit: 1000 bytes x 10 s.
    expect(intervalAmount(closed[0])).toBe(0n);
  });

  it('a (forced) bucket deletion stops the usage', () => {
    const { open, closed } = run([
      created,
      put('2026-01-10T01:00:00Z', 'a', 2 * GIB),
      ['BucketDeleted', '2026-01-10T01:30:00Z', { name: 'photos', forced: true }],
    ]);
    expect(open).toBeNull();
    expect(closed.map((c) => [c.quantity, c.end - c.start])).toEqual([[2 * GIB, 1800]]);
  });

  it('the catalog price of storage:object-gb in force applies', () => {
    const priceAt = (sku: string) => (sku === OBJECT_STORAGE_SKU ? 50n : null);
    const step = usageFactsOf(
      {
        type: 'ObjectVersionCreated',
        data: {
          bucketId: BUCKET,
          at: '2026-01-10T00:00:00Z',
          version: version('v', 10),
          replaced: null,
        },
        metadata: meta,
      },
      null,
      METERING,
      priceAt,
    );
    expect(step?.facts).toEqual([expect.objectContaining({ unitPrice: 50n, quantity: 10 })]);
  });
});
