/**
 * Generated compute history for the ledger tests and benchmark: instances that start, pause,
 * resize, stop and terminate, and volumes created and deleted, across a month boundary, appended
 * to the real event store with the metadata commands would give them (tenant, actor, request id,
 * source address, occurredAt). Alongside, an independent tally of what each period must bill,
 * computed with plain arithmetic on the generator's own timeline (no billing code involved).
 */
import { randomUUID } from 'node:crypto';
import { type EventMetadata, type EventStore, type NewEvent } from '../src/eventstore/event-store';
import { comparePositions, type Position } from '../src/kernel/position';

export interface HistoryOptions {
  tenants: string[];
  instancesPerTenant: number;
  volumesPerTenant: number;
  /** Epoch seconds of the first launch. */
  start: number;
  /** Epoch seconds after which nothing happens. */
  end: number;
  /** Lifecycle operations per instance (pause/resume, stop/start, resize). */
  operationsPerInstance: number;
  /** Fraction of resources left running at the end. */
  leaveOpen?: number;
  seed?: number;
  /** Users acting per tenant (actor ids). */
  users?: Record<string, string>;
}

/** Exact expected cost per tenant and period, in metered units (micro-USD x seconds / 3600 h). */
export type ExpectedTotals = Map<string, Map<string, { compute: bigint; storage: bigint }>>;

export interface GeneratedHistory {
  events: number;
  /**
   * The newest position appended. Wait for this, not for the store's readable head: on a server
   * shared with other databases the readable head can trail behind these appends.
   */
  lastPosition: Position | null;
  expected: ExpectedTotals;
  /** Open usage at the end: per tenant, [start, price per hour (micros), quantity, type]. */
  open: Array<{
    tenant: string;
    start: number;
    price: bigint;
    quantity: number;
    type: 'compute' | 'storage';
  }>;
}

const TYPES = [
  { id: 'basic-1', vcpus: 1, memoryMb: 512, pricePerHourMicroUsd: 10_000 },
  { id: 'basic-2', vcpus: 1, memoryMb: 1024, pricePerHourMicroUsd: 20_000 },
  { id: 'basic-4', vcpus: 2, memoryMb: 2048, pricePerHourMicroUsd: 40_000 },
  { id: 'standard-1', vcpus: 1, memoryMb: 2048, pricePerHourMicroUsd: 30_000 },
];
const STORAGE_PRICE = 140n;
const IMAGE_ID = '00000000-0000-4000-8000-00000000b0b0';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function monthKey(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 7);
}

function nextMonthStart(sec: number): number {
  const d = new Date(sec * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
}

/** Adds price x quantity x seconds of [from, to) to the periods it spans. */
function tally(
  expected: ExpectedTotals,
  tenant: string,
  kind: 'compute' | 'storage',
  price: bigint,
  quantity: number,
  from: number,
  to: number,
): void {
  let s = from;
  while (s < to) {
    const e = Math.min(to, nextMonthStart(s));
    const perTenant = expected.get(tenant) ?? new Map();
    expected.set(tenant, perTenant);
    const key = monthKey(s);
    const entry = perTenant.get(key) ?? { compute: 0n, storage: 0n };
    entry[kind] += price * BigInt(quantity) * BigInt(e - s);
    perTenant.set(key, entry);
    s = e;
  }
}

interface PendingStream {
  stream: string;
  events: NewEvent[];
}

export async function generateHistory(
  store: EventStore,
  options: HistoryOptions,
): Promise<GeneratedHistory> {
  const random = rng(options.seed ?? 42);
  const expected: ExpectedTotals = new Map();
  const open: GeneratedHistory['open'] = [];
  // Streams are appended as soon as they are built, a few at once, so memory stays small.
  const streams: PendingStream[] = [];
  let lastPosition: Position | null = null;
  const flush = async (): Promise<void> => {
    const batch = streams.splice(0, streams.length);
    const results = await Promise.all(
      batch.map((s) => store.append(s.stream, s.events, 'no_stream')),
    );
    for (const s of batch) count += s.events.length;
    for (const r of results) {
      if (!lastPosition || comparePositions(r.position, lastPosition) > 0)
        lastPosition = r.position;
    }
  };
  const leaveOpen = options.leaveOpen ?? 0.2;
  const span = options.end - options.start;
  let count = 0;

  const meta = (tenant: string, atSec: number, actor?: string): EventMetadata => ({
    tenantId: tenant,
    actor: actor ? { type: 'user', id: actor } : { type: 'system', id: 'saga' },
    correlationId: randomUUID(),
    causationId: null,
    requestId: actor ? `req-${randomUUID()}` : null,
    sourceIp: actor ? '198.51.100.7' : null,
    occurredAt: new Date(atSec * 1000 + Math.floor(random() * 1000)).toISOString(),
    schemaVersion: 1,
  });

  for (const tenant of options.tenants) {
    const user = options.users?.[tenant] ?? randomUUID();
    for (let i = 0; i < options.instancesPerTenant; i++) {
      const id = randomUUID();
      const events: NewEvent[] = [];
      const push = (type: string, data: Record<string, unknown>, at: number, byUser: boolean) => {
        events.push({
          id: randomUUID(),
          type,
          data: { instanceId: id, ...data, at: new Date(at * 1000).toISOString() },
          metadata: meta(tenant, at, byUser ? user : undefined),
        });
      };
      let type = TYPES[Math.floor(random() * TYPES.length)];
      let t = options.start + Math.floor(random() * (span / 3));
      const name = `vm-${i}`;
      push(
        'InstanceLaunchRequested',
        {
          tenantId: tenant,
          name,
          image: { id: IMAGE_ID, name: 'busybox', dockerImageId: 'sha256:0' },
          instanceType: type,
          vpcId: null,
          subnetId: null,
          ports: [],
          volumes: [],
          userData: null,
          tags: {},
        },
        t,
        true,
      );
      t += 5;
      push('InstanceStarted', { cause: 'launch', instanceType: type }, t, false);
      let state: 'RUNNING' | 'PAUSED' | 'STOPPED' = 'RUNNING';
      let billedFrom = t;
      const step = Math.max(2, Math.floor((options.end - t) / (options.operationsPerInstance + 2)));
      for (let op = 0; op < options.operationsPerInstance; op++) {
        t += 1 + Math.floor(random() * step);
        if (t >= options.end - 10) break;
        const r = random();
        if (state === 'RUNNING' && r < 0.25) {
          push('InstancePaused', { cause: 'requested' }, t, true);
          state = 'PAUSED';
        } else if (state === 'PAUSED') {
          push('InstanceResumed', { cause: 'requested' }, t, true);
          state = 'RUNNING';
        } else if (state === 'RUNNING' && r < 0.5) {
          const to = TYPES[Math.floor(random() * TYPES.length)];
          push('InstanceResized', { from: type, to, status: 'RUNNING' }, t, true);
          if (to.pricePerHourMicroUsd !== type.pricePerHourMicroUsd) {
            tally(expected, tenant, 'compute', BigInt(type.pricePerHourMicroUsd), 1, billedFrom, t);
            billedFrom = t;
          }
          type = to;
        } else if (state === 'RUNNING') {
          push('InstanceStopRequested', { from: 'RUNNING' }, t, true);
          tally(expected, tenant, 'compute', BigInt(type.pricePerHourMicroUsd), 1, billedFrom, t);
          push('InstanceStopped', { cause: 'requested', exitCode: 0 }, t + 2, false);
          t += 2;
          state = 'STOPPED';
        } else {
          // STOPPED: resize at rest sometimes, then start.
          if (r < 0.6) {
            const to = TYPES[Math.floor(random() * TYPES.length)];
            push('InstanceResized', { from: type, to, status: 'STOPPED' }, t, true);
            type = to;
            t += 1;
          }
          push('InstanceStartRequested', {}, t, true);
          push('InstanceStarted', { cause: 'start', instanceType: type }, t + 3, false);
          t += 3;
          billedFrom = t;
          state = 'RUNNING';
        }
      }
      if (random() >= leaveOpen || state === 'STOPPED') {
        t = Math.min(options.end - 2, t + 60);
        const from = state;
        push('InstanceTerminationRequested', { from, containerId: null, volumeIds: [] }, t, true);
        if (state !== 'STOPPED') {
          tally(expected, tenant, 'compute', BigInt(type.pricePerHourMicroUsd), 1, billedFrom, t);
        }
        push('InstanceTerminated', { instanceTypeId: type.id, volumeIds: [] }, t + 1, false);
      } else {
        open.push({
          tenant,
          start: billedFrom,
          price: BigInt(type.pricePerHourMicroUsd),
          quantity: 1,
          type: 'compute',
        });
      }
      streams.push({ stream: `instance-${id}`, events });
      if (streams.length >= 8) await flush();
    }
    for (let v = 0; v < options.volumesPerTenant; v++) {
      const id = randomUUID();
      const sizeGb = 1 + Math.floor(random() * 200);
      const created = options.start + Math.floor(random() * span * 0.5);
      const events: NewEvent[] = [
        {
          id: randomUUID(),
          type: 'VolumeCreated',
          data: {
            volumeId: id,
            tenantId: tenant,
            name: `vol-${v}`,
            sizeGb,
            at: new Date(created * 1000).toISOString(),
          },
          metadata: meta(tenant, created, user),
        },
      ];
      if (random() >= leaveOpen) {
        const deleted = created + 1 + Math.floor(random() * (options.end - created - 1));
        events.push({
          id: randomUUID(),
          type: 'VolumeDeleted',
          data: { volumeId: id, sizeGb, at: new Date(deleted * 1000).toISOString() },
          metadata: meta(tenant, deleted, user),
        });
        tally(expected, tenant, 'storage', STORAGE_PRICE, sizeGb, created, deleted);
      } else {
        open.push({
          tenant,
          start: created,
          price: STORAGE_PRICE,
          quantity: sizeGb,
          type: 'storage',
        });
      }
      streams.push({ stream: `volume-${id}`, events });
      if (streams.length >= 8) await flush();
    }
  }
  await flush();
  return { events: count, lastPosition, expected, open };
}

/** Adds the open usage billed up to `now` to the expected totals. */
export function withOpenUsage(history: GeneratedHistory, now: number): ExpectedTotals {
  const copy: ExpectedTotals = new Map();
  for (const [tenant, periods] of history.expected) {
    copy.set(tenant, new Map([...periods].map(([k, v]) => [k, { ...v }])));
  }
  for (const o of history.open) {
    if (o.start < now) tally(copy, o.tenant, o.type, o.price, o.quantity, o.start, now);
  }
  return copy;
}

/** Metered units to cents, half to even (the test's own rounding). */
export function centsHalfEven(metered: bigint): bigint {
  const unit = 36_000_000n; // 10_000 micros per cent x 3600 s per hour
  const q = metered / unit;
  const r = metered % unit;
  if (r * 2n > unit || (r * 2n === unit && q % 2n === 1n)) return q + 1n;
  return q;
}
