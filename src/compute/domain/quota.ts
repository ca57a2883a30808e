/**
 * Per-tenant compute quotas.
 *
 * `checkQuota` is the pure rule. `quotaDecider` (stream `quota-<tenantId>`) is where it is enforced
 * without races: every reservation of capacity for an instance or a volume is an event in the one
 * per-tenant stream, appended with the revision that was read, so two concurrent launches cannot
 * both spend the last slot — the loser's append fails with a wrong expected revision, the executor
 * re-reads and re-decides, and now sees the quota full.
 *
 * Reservations are keyed by the instance (or volume) id, so repeating a reservation is a no-op and
 * the launch saga can re-run its "check quota" step after a crash. Reserving again for the same
 * instance with other amounts re-sizes the reservation and checks only the difference (resize).
 *
 * An instance holds its reservation for its whole life, running or stopped, until it is released
 * (launch failed, or terminated). Limits enter through the command (defaults merged with the
 * tenant's overrides by the handler) and are recorded in the events for audit.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';

export const QUOTA_CATEGORY = 'quota';

export const QUOTA_RESOURCES = ['instances', 'vcpus', 'memoryMb', 'volumes'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

export type QuotaLimits = Record<QuotaResource, number>;
export type QuotaUsage = Record<QuotaResource, number>;
/** A change of usage; negative amounts release capacity. Missing resources mean 0. */
export type QuotaDelta = Partial<Record<QuotaResource, number>>;

export const DEFAULT_QUOTA_LIMITS: Readonly<QuotaLimits> = Object.freeze({
  instances: 10,
  vcpus: 16,
  memoryMb: 32768,
  volumes: 20,
});

/** Names used in messages and in `details.resource` (the API's snake_case). */
export const QUOTA_RESOURCE_NAMES: Readonly<Record<QuotaResource, string>> = Object.freeze({
  instances: 'instances',
  vcpus: 'vcpus',
  memoryMb: 'memory_mb',
  volumes: 'volumes',
});

export function emptyUsage(): QuotaUsage {
  return { instances: 0, vcpus: 0, memoryMb: 0, volumes: 0 };
}

/** Defaults with a tenant's overrides on top; an override must be a non-negative integer. */
export function resolveQuotaLimits(
  overrides: Partial<QuotaLimits> = {},
  defaults: Readonly<QuotaLimits> = DEFAULT_QUOTA_LIMITS,
): QuotaLimits {
  const limits: QuotaLimits = { ...defaults };
  for (const resource of QUOTA_RESOURCES) {
    const value = overrides[resource];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`quota ${resource} must be a non-negative integer, got ${value}`);
    }
    limits[resource] = value;
  }
  return limits;
}

export type QuotaCheck = { ok: true } | { ok: false; error: AppError };

/**
 * Whether `current + requested` stays within `limits` for every resource the delta increases.
 * A delta that only releases capacity is always allowed, even when usage is already above a
 * lowered limit. The first exceeded resource (in QUOTA_RESOURCES order) is reported as 403
 * `quota_exceeded` with details {resource, limit, current, requested}.
 */
export function checkQuota(
  current: Readonly<QuotaUsage>,
  requested: Readonly<QuotaDelta>,
  limits: Readonly<QuotaLimits>,
): QuotaCheck {
  for (const resource of QUOTA_RESOURCES) {
    const amount = requested[resource] ?? 0;
    if (amount <= 0) continue;
    const limit = limits[resource];
    const used = current[resource];
    if (used + amount > limit) {
      const name = QUOTA_RESOURCE_NAMES[resource];
      return {
        ok: false,
        error: new AppError(
          'quota_exceeded',
          `quota exceeded for ${name}: limit ${limit}, in use ${used}, requested ${amount}`,
          { resource: name, limit, current: used, requested: amount },
        ),
      };
    }
  }
  return { ok: true };
}

export function assertQuota(
  current: Readonly<QuotaUsage>,
  requested: Readonly<QuotaDelta>,
  limits: Readonly<QuotaLimits>,
): void {
  const result = checkQuota(current, requested, limits);
  if (!result.ok) throw result.error;
}

// ---------------------------------------------------------------- the per-tenant aggregate

export interface InstanceAllocation {
  vcpus: number;
  memoryMb: number;
}

export interface ReserveInstanceCapacity {
  type: 'ReserveInstanceCapacity';
  tenantId: string;
  instanceId: string;
  vcpus: number;
  memoryMb: number;
  limits: QuotaLimits;
  now: Date;
}

export interface ReleaseInstanceCapacity {
  type: 'ReleaseInstanceCapacity';
  tenantId: string;
  instanceId: string;
  now: Date;
}

export interface ReserveVolumeCapacity {
  type: 'ReserveVolumeCapacity';
  tenantId: string;
  volumeId: string;
  limits: QuotaLimits;
  now: Date;
}

export interface ReleaseVolumeCapacity {
  type: 'ReleaseVolumeCapacity';
  tenantId: string;
  volumeId: string;
  now: Date;
}

export type QuotaCommand =
  ReserveInstanceCapacity | ReleaseInstanceCapacity | ReserveVolumeCapacity | ReleaseVolumeCapacity;

export type QuotaEvent =
  | {
      type: 'InstanceCapacityReserved';
      data: {
        tenantId: string;
        instanceId: string;
        vcpus: number;
        memoryMb: number;
        /** Usage after the reservation, and the limits it was checked against. */
        usage: QuotaUsage;
        limits: QuotaLimits;
        at: string;
      };
    }
  | {
      type: 'InstanceCapacityResized';
      data: {
        tenantId: string;
        instanceId: string;
        from: InstanceAllocation;
        to: InstanceAllocation;
        usage: QuotaUsage;
        limits: QuotaLimits;
        at: string;
      };
    }
  | {
      type: 'InstanceCapacityReleased';
      data: {
        tenantId: string;
        instanceId: string;
        vcpus: number;
        memoryMb: number;
        usage: QuotaUsage;
        at: string;
      };
    }
  | {
      type: 'VolumeCapacityReserved';
      data: {
        tenantId: string;
        volumeId: string;
        usage: QuotaUsage;
        limits: QuotaLimits;
        at: string;
      };
    }
  | {
      type: 'VolumeCapacityReleased';
      data: { tenantId: string; volumeId: string; usage: QuotaUsage; at: string };
    };

export interface QuotaState {
  tenantId: string | null;
  instances: Readonly<Record<string, InstanceAllocation>>;
  volumes: readonly string[];
}

export function initialQuotaState(): QuotaState {
  return { tenantId: null, instances: {}, volumes: [] };
}

export function usageOf(state: QuotaState): QuotaUsage {
  const usage = emptyUsage();
  for (const allocation of Object.values(state.instances)) {
    usage.instances += 1;
    usage.vcpus += allocation.vcpus;
    usage.memoryMb += allocation.memoryMb;
  }
  usage.volumes = state.volumes.length;
  return usage;
}

function plus(usage: QuotaUsage, delta: QuotaDelta): QuotaUsage {
  const next = { ...usage };
  for (const r of QUOTA_RESOURCES) next[r] += delta[r] ?? 0;
  return next;
}

export function evolveQuota(state: QuotaState, event: QuotaEvent): QuotaState {
  switch (event.type) {
    case 'InstanceCapacityReserved':
    case 'InstanceCapacityResized': {
      const allocation =
        event.type === 'InstanceCapacityReserved'
          ? { vcpus: event.data.vcpus, memoryMb: event.data.memoryMb }
          : event.data.to;
      return {
        ...state,
        tenantId: event.data.tenantId,
        instances: { ...state.instances, [event.data.instanceId]: allocation },
      };
    }
    case 'InstanceCapacityReleased': {
      const instances = { ...state.instances };
      delete instances[event.data.instanceId];
      return { ...state, tenantId: event.data.tenantId, instances };
    }
    case 'VolumeCapacityReserved':
      return {
        ...state,
        tenantId: event.data.tenantId,
        volumes: [...state.volumes, event.data.volumeId],
      };
    case 'VolumeCapacityReleased':
      return {
        ...state,
        tenantId: event.data.tenantId,
        volumes: state.volumes.filter((v) => v !== event.data.volumeId),
      };
    default:
      return state;
  }
}

function assertAmounts(vcpus: number, memoryMb: number): void {
  if (
    !Number.isSafeInteger(vcpus) ||
    vcpus <= 0 ||
    !Number.isSafeInteger(memoryMb) ||
    memoryMb <= 0
  ) {
    throw AppError.validation('vcpus and memory must be positive integers', [
      { path: 'instance_type', message: 'has no valid vcpus or memory' },
    ]);
  }
}

export function decideQuota(command: QuotaCommand, state: QuotaState): QuotaEvent[] {
  const at = command.now.toISOString();
  const usage = usageOf(state);
  const { tenantId } = command;
  switch (command.type) {
    case 'ReserveInstanceCapacity': {
      const { instanceId, vcpus, memoryMb, limits } = command;
      assertAmounts(vcpus, memoryMb);
      const existing = state.instances[instanceId];
      if (existing) {
        if (existing.vcpus === vcpus && existing.memoryMb === memoryMb) return [];
        const delta = { vcpus: vcpus - existing.vcpus, memoryMb: memoryMb - existing.memoryMb };
        assertQuota(usage, delta, limits);
        return [
          {
            type: 'InstanceCapacityResized',
            data: {
              tenantId,
              instanceId,
              from: { ...existing },
              to: { vcpus, memoryMb },
              usage: plus(usage, delta),
              limits,
              at,
            },
          },
        ];
      }
      const delta = { instances: 1, vcpus, memoryMb };
      assertQuota(usage, delta, limits);
      return [
        {
          type: 'InstanceCapacityReserved',
          data: { tenantId, instanceId, vcpus, memoryMb, usage: plus(usage, delta), limits, at },
        },
      ];
    }
    case 'ReleaseInstanceCapacity': {
      const existing = state.instances[command.instanceId];
      if (!existing) return [];
      return [
        {
          type: 'InstanceCapacityReleased',
          data: {
            tenantId,
            instanceId: command.instanceId,
            vcpus: existing.vcpus,
            memoryMb: existing.memoryMb,
            usage: plus(usage, {
              instances: -1,
              vcpus: -existing.vcpus,
              memoryMb: -existing.memoryMb,
            }),
            at,
          },
        },
      ];
    }
    case 'ReserveVolumeCapacity': {
      if (state.volumes.includes(command.volumeId)) return [];
      assertQuota(usage, { volumes: 1 }, command.limits);
      return [
        {
          type: 'VolumeCapacityReserved',
          data: {
            tenantId,
            volumeId: command.volumeId,
            usage: plus(usage, { volumes: 1 }),
            limits: command.limits,
            at,
          },
        },
      ];
    }
    case 'ReleaseVolumeCapacity': {
      if (!state.volumes.includes(command.volumeId)) return [];
      return [
        {
          type: 'VolumeCapacityReleased',
          data: { tenantId, volumeId: command.volumeId, usage: plus(usage, { volumes: -1 }), at },
        },
      ];
    }
    default:
      return assertUnreachable(command);
  }
}

export const quotaDecider: Decider<QuotaCommand, QuotaEvent, QuotaState> = {
  category: QUOTA_CATEGORY,
  initialState: initialQuotaState,
  evolve: evolveQuota,
  decide: decideQuota,
};
