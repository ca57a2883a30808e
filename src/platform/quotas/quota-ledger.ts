/**
 * Per-tenant quotas, one ledger per tenant (stream `quota-<tenantId>`), framework-free.
 *
 * A family declares its quotas (`defineQuota`) in its own context; a use case reserves capacity
 * in the ledger before it appends the resource's first event, and releases it when the resource
 * goes away. Usage is the sum of the reservations held in the ledger (a counter kept by the
 * event store itself), so it is race-free without any lock: every reservation is appended with
 * the ledger revision it was decided on, and of two concurrent creates that both want the last
 * slot one append is refused (wrong expected revision), re-decides on the new revision and is
 * refused with `quota_exceeded`. A refused reservation appends nothing. This works the same on
 * PostgreSQL and EventStoreDB (no SQL count inside a transaction, no advisory lock), and the
 * ledger holds the operators' per-tenant overrides too, so a limit change and a reservation are
 * ordered in one stream.
 *
 * Reservations are keyed by a holder (the resource's id): repeating one is a no-op (a retried
 * command, a saga step re-run after a crash), and reserving again with other amounts (a resize)
 * checks only the increase. A release of a holder that holds nothing is a no-op. An adjustment
 * (`AdjustQuota`) changes a holder's amounts by a signed delta decided on the ledger's own state
 * (a bucket's stored bytes, which many writes change at once), so concurrent adjustments of one
 * holder never lose each other; it is recorded as the `QuotaReserved` of the new amounts.
 *
 * The ledger also folds the events compute wrote before quotas were a platform service
 * (`InstanceCapacity*`, `VolumeCapacity*`), so the reservations of older ledgers still count.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';

export const QUOTA_CATEGORY = 'quota';

/** What a family declares about one of its quotas. */
export interface QuotaDefinition {
  /** snake_case, unique across the application: `instances`, `elastic_ips`, `buckets`. */
  readonly name: string;
  /** Every tenant's limit unless an operator overrides it. */
  readonly defaultLimit: number;
  /** What is counted, for operators (`GET /admin/quotas/:tenantId`). */
  readonly description: string;
}

export const QUOTA_NAME = /^[a-z][a-z0-9_]{0,62}$/;
/** The largest limit an operator can set: 2^50 (a PiB, for byte quotas such as `stored_bytes`). */
export const MAX_QUOTA_LIMIT = 2 ** 50;

function assertLimit(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_QUOTA_LIMIT) {
    throw new RangeError(`quota ${name}: limit must be an integer 0..${MAX_QUOTA_LIMIT}`);
  }
}

export function defineQuota(definition: QuotaDefinition): QuotaDefinition {
  if (!QUOTA_NAME.test(definition.name)) {
    throw new RangeError(`quota name ${JSON.stringify(definition.name)} must be snake_case`);
  }
  assertLimit(definition.name, definition.defaultLimit);
  return Object.freeze({ ...definition });
}

/** Amounts per quota name; a missing name means 0. */
export type QuotaAmounts = Readonly<Record<string, number>>;
export type QuotaLimits = Record<string, number>;

/** What one holder (a resource) holds. */
export interface QuotaHolding {
  /** The holder's family (`instance`, `volume`, `bucket`), for reports and orphan checks. */
  kind: string;
  amounts: QuotaAmounts;
}

export interface QuotaLedgerState {
  tenantId: string | null;
  holdings: Readonly<Record<string, QuotaHolding>>;
  /** Operators' overrides by quota name (absent: the default). */
  overrides: Readonly<Record<string, number>>;
}

export function initialQuotaLedger(): QuotaLedgerState {
  return { tenantId: null, holdings: {}, overrides: {} };
}

/** The sum of every holding, per quota name. */
export function usageOf(state: QuotaLedgerState): QuotaLimits {
  const usage: QuotaLimits = {};
  for (const { amounts } of Object.values(state.holdings)) {
    for (const [name, amount] of Object.entries(amounts)) usage[name] = (usage[name] ?? 0) + amount;
  }
  return usage;
}

/** The defaults with the tenant's overrides on top (overrides of quotas no longer declared are ignored). */
export function effectiveLimits(
  defaults: Readonly<Record<string, number>>,
  overrides: Readonly<Record<string, number>>,
): QuotaLimits {
  const limits: QuotaLimits = { ...defaults };
  for (const [name, value] of Object.entries(overrides)) {
    if (Object.hasOwn(limits, name)) limits[name] = value;
  }
  return limits;
}

export type QuotaCheck = { ok: true } | { ok: false; error: AppError };

/**
 * Whether `usage + delta` stays within `limits` for every quota the delta increases (in the
 * order of the delta's keys). A delta that only releases is always allowed, even above a lowered
 * limit. The first exceeded quota is 403 `quota_exceeded` with {quota, limit, current, requested}.
 */
export function checkQuota(
  usage: Readonly<Record<string, number>>,
  delta: QuotaAmounts,
  limits: Readonly<Record<string, number>>,
): QuotaCheck {
  for (const [name, amount] of Object.entries(delta)) {
    if (amount <= 0) continue;
    const limit = Object.hasOwn(limits, name) ? limits[name] : undefined;
    if (limit === undefined) throw new Error(`quota ${name} is not declared by any family`);
    const current = usage[name] ?? 0;
    if (current + amount > limit) {
      return {
        ok: false,
        error: new AppError(
          'quota_exceeded',
          `quota exceeded for ${name}: limit ${limit}, in use ${current}, requested ${amount}`,
          { quota: name, resource: name, limit, current, requested: amount },
        ),
      };
    }
  }
  return { ok: true };
}

// ---------------------------------------------------------------- commands and events

export interface ReserveQuota {
  type: 'ReserveQuota';
  tenantId: string;
  holderId: string;
  holderKind: string;
  amounts: QuotaAmounts;
  /** The declared defaults (the tenant's overrides are in the ledger). */
  defaults: Readonly<Record<string, number>>;
  now: Date;
}

/** Changes a holder's amounts by `delta` (negative gives back; never below 0). */
export interface AdjustQuota {
  type: 'AdjustQuota';
  tenantId: string;
  holderId: string;
  /** The holder's family when it holds nothing yet. */
  holderKind: string;
  delta: QuotaAmounts;
  defaults: Readonly<Record<string, number>>;
  now: Date;
}

export interface ReleaseQuota {
  type: 'ReleaseQuota';
  tenantId: string;
  holderId: string;
  now: Date;
}

export interface OverrideQuotaLimits {
  type: 'OverrideQuotaLimits';
  tenantId: string;
  /** A limit per quota name; null puts the quota back on its default. */
  limits: Readonly<Record<string, number | null>>;
  defaults: Readonly<Record<string, number>>;
  now: Date;
}

export type QuotaLedgerCommand = ReserveQuota | AdjustQuota | ReleaseQuota | OverrideQuotaLimits;

export interface QuotaReservedData {
  tenantId: string;
  holderId: string;
  holderKind: string;
  amounts: QuotaAmounts;
  /** The holder's amounts before, when this re-sizes an existing reservation. */
  previous: QuotaAmounts | null;
  /** Usage of the quotas it touches after the reservation, and their limits. */
  usage: QuotaLimits;
  limits: QuotaLimits;
  at: string;
}

export interface QuotaReleasedData {
  tenantId: string;
  holderId: string;
  holderKind: string;
  amounts: QuotaAmounts;
  at: string;
}

export interface QuotaLimitsOverriddenData {
  tenantId: string;
  /** What the operator asked: a limit, or null for back to the default. */
  changes: Record<string, number | null>;
  /** The tenant's overrides after the change. */
  overrides: Record<string, number>;
  at: string;
}

/** Events compute wrote before quotas were a platform service; folded, never written. */
type LegacyComputeQuotaEvent =
  | {
      type: 'InstanceCapacityReserved';
      data: { tenantId: string; instanceId: string; vcpus: number; memoryMb: number };
    }
  | {
      type: 'InstanceCapacityResized';
      data: { tenantId: string; instanceId: string; to: { vcpus: number; memoryMb: number } };
    }
  | { type: 'InstanceCapacityReleased'; data: { tenantId: string; instanceId: string } }
  | { type: 'VolumeCapacityReserved'; data: { tenantId: string; volumeId: string } }
  | { type: 'VolumeCapacityReleased'; data: { tenantId: string; volumeId: string } };

export type QuotaLedgerEvent =
  | { type: 'QuotaReserved'; data: QuotaReservedData }
  | { type: 'QuotaReleased'; data: QuotaReleasedData }
  | { type: 'QuotaLimitsOverridden'; data: QuotaLimitsOverriddenData }
  | LegacyComputeQuotaEvent;

function hold(state: QuotaLedgerState, tenantId: string, holderId: string, holding: QuotaHolding) {
  return { ...state, tenantId, holdings: { ...state.holdings, [holderId]: holding } };
}

function drop(state: QuotaLedgerState, tenantId: string, holderId: string): QuotaLedgerState {
  const holdings = { ...state.holdings };
  delete holdings[holderId];
  return { ...state, tenantId, holdings };
}

export function evolveQuotaLedger(
  state: QuotaLedgerState,
  event: QuotaLedgerEvent,
): QuotaLedgerState {
  switch (event.type) {
    case 'QuotaReserved':
      return hold(state, event.data.tenantId, event.data.holderId, {
        kind: event.data.holderKind,
        amounts: event.data.amounts,
      });
    case 'QuotaReleased':
      return drop(state, event.data.tenantId, event.data.holderId);
    case 'QuotaLimitsOverridden':
      return { ...state, tenantId: event.data.tenantId, overrides: event.data.overrides };
    case 'InstanceCapacityReserved':
      return hold(state, event.data.tenantId, event.data.instanceId, {
        kind: 'instance',
        amounts: { instances: 1, vcpus: event.data.vcpus, memory_mb: event.data.memoryMb },
      });
    case 'InstanceCapacityResized':
      return hold(state, event.data.tenantId, event.data.instanceId, {
        kind: 'instance',
        amounts: { instances: 1, vcpus: event.data.to.vcpus, memory_mb: event.data.to.memoryMb },
      });
    case 'InstanceCapacityReleased':
      return drop(state, event.data.tenantId, event.data.instanceId);
    case 'VolumeCapacityReserved':
      return hold(state, event.data.tenantId, event.data.volumeId, {
        kind: 'volume',
        amounts: { volumes: 1 },
      });
    case 'VolumeCapacityReleased':
      return drop(state, event.data.tenantId, event.data.volumeId);
    default:
      return state;
  }
}

function assertAmounts(amounts: QuotaAmounts): void {
  for (const [name, amount] of Object.entries(amounts)) {
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new RangeError(`quota ${name}: amount must be a non-negative integer, got ${amount}`);
    }
  }
}

function sameAmounts(a: QuotaAmounts, b: QuotaAmounts): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].every((n) => (a[n] ?? 0) === (b[n] ?? 0));
}

function pick(values: Readonly<Record<string, number>>, names: Iterable<string>): QuotaLimits {
  const out: QuotaLimits = {};
  for (const name of names) out[name] = values[name] ?? 0;
  return out;
}

export function decideQuotaLedger(
  command: QuotaLedgerCommand,
  state: QuotaLedgerState,
): QuotaLedgerEvent[] {
  const at = command.now.toISOString();
  const { tenantId } = command;
  switch (command.type) {
    case 'ReserveQuota': {
      const { holderId, holderKind, amounts } = command;
      assertAmounts(amounts);
      const existing = state.holdings[holderId];
      if (existing && sameAmounts(existing.amounts, amounts)) return [];
      const delta: Record<string, number> = {};
      for (const name of new Set([
        ...Object.keys(amounts),
        ...Object.keys(existing?.amounts ?? {}),
      ])) {
        delta[name] = (amounts[name] ?? 0) - (existing?.amounts[name] ?? 0);
      }
      const limits = effectiveLimits(command.defaults, state.overrides);
      const usage = usageOf(state);
      const check = checkQuota(usage, delta, limits);
      if (!check.ok) throw check.error;
      const after: QuotaLimits = { ...usage };
      for (const [name, d] of Object.entries(delta)) after[name] = (after[name] ?? 0) + d;
      return [
        {
          type: 'QuotaReserved',
          data: {
            tenantId,
            holderId,
            holderKind,
            amounts: { ...amounts },
            previous: existing ? { ...existing.amounts } : null,
            usage: pick(after, Object.keys(delta)),
            limits: pick(limits, Object.keys(delta)),
            at,
          },
        },
      ];
    }
    case 'AdjustQuota': {
      const existing = state.holdings[command.holderId];
      const amounts: Record<string, number> = { ...(existing?.amounts ?? {}) };
      for (const [name, d] of Object.entries(command.delta)) {
        if (!Number.isSafeInteger(d)) {
          throw new RangeError(`quota ${name}: delta must be an integer, got ${d}`);
        }
        amounts[name] = Math.max(0, (amounts[name] ?? 0) + d);
      }
      if (!existing && Object.values(amounts).every((a) => a === 0)) return [];
      return decideQuotaLedger(
        {
          type: 'ReserveQuota',
          tenantId,
          holderId: command.holderId,
          holderKind: existing?.kind ?? command.holderKind,
          amounts,
          defaults: command.defaults,
          now: command.now,
        },
        state,
      );
    }
    case 'ReleaseQuota': {
      const existing = state.holdings[command.holderId];
      if (!existing) return [];
      return [
        {
          type: 'QuotaReleased',
          data: {
            tenantId,
            holderId: command.holderId,
            holderKind: existing.kind,
            amounts: { ...existing.amounts },
            at,
          },
        },
      ];
    }
    case 'OverrideQuotaLimits': {
      const unknown = Object.keys(command.limits).filter(
        (n) => !Object.hasOwn(command.defaults, n),
      );
      if (unknown.length > 0) {
        throw AppError.validation(
          `unknown quota ${unknown.join(', ')}; known: ${Object.keys(command.defaults).join(', ')}`,
          unknown.map((n) => ({ path: n, message: 'is not a quota' })),
        );
      }
      const invalid = Object.entries(command.limits).filter(
        ([, v]) => v !== null && (!Number.isSafeInteger(v) || v < 0 || v > MAX_QUOTA_LIMIT),
      );
      if (invalid.length > 0) {
        throw AppError.validation(
          `a quota limit is an integer from 0 to ${MAX_QUOTA_LIMIT}, or null for the default`,
          invalid.map(([n]) => ({
            path: n,
            message: `must be an integer 0..${MAX_QUOTA_LIMIT} or null`,
          })),
        );
      }
      const overrides: Record<string, number> = { ...state.overrides };
      for (const [name, value] of Object.entries(command.limits)) {
        if (value === null) delete overrides[name];
        else overrides[name] = value;
      }
      const names = new Set([...Object.keys(overrides), ...Object.keys(state.overrides)]);
      if ([...names].every((n) => overrides[n] === state.overrides[n])) return [];
      return [
        {
          type: 'QuotaLimitsOverridden',
          data: { tenantId, changes: { ...command.limits }, overrides, at },
        },
      ];
    }
    default:
      return assertUnreachable(command);
  }
}

export const quotaLedgerDecider: Decider<QuotaLedgerCommand, QuotaLedgerEvent, QuotaLedgerState> = {
  category: QUOTA_CATEGORY,
  initialState: initialQuotaLedger,
  evolve: evolveQuotaLedger,
  decide: decideQuotaLedger,
};
