/**
 * The instance type catalog: data, not code spread around. `GET /instance-types` serves
 * `instanceTypeView` of each entry; the launch and resize handlers resolve `instance_type` with
 * `findInstanceType` and pass the resolved `InstanceType` into the instance decider, which copies
 * what billing and audit need (vCPUs, memory, price at the time) into its events.
 *
 * Prices are integer micro-USD (1 USD = 1_000_000): computations never touch floats. The API shows
 * `price_per_hour` as a number (the seed does) derived for display only.
 *
 * `disk_gb` and `network_mbps` are advertised sizes; the Docker driver enforces CPU and memory
 * (`dockerResourceLimits`). With the vfs storage driver and no traffic shaping, disk and bandwidth
 * are not enforced yet.
 */
import { AppError } from '../../common/errors/app-error';

export type InstanceTypeCategory = 'general-purpose' | 'balanced' | 'performance';

export interface InstanceType {
  id: string;
  name: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  networkMbps: number;
  /** Integer micro-USD per hour (20_000 = 0.02 USD). */
  pricePerHourMicroUsd: number;
  category: InstanceTypeCategory;
}

export const MICRO_USD_PER_USD = 1_000_000;

function type(
  id: string,
  name: string,
  vcpus: number,
  memoryMb: number,
  diskGb: number,
  networkMbps: number,
  pricePerHourMicroUsd: number,
  category: InstanceTypeCategory,
): InstanceType {
  return Object.freeze({
    id,
    name,
    vcpus,
    memoryMb,
    diskGb,
    networkMbps,
    pricePerHourMicroUsd,
    category,
  });
}

// prettier-ignore
export const INSTANCE_TYPES: readonly InstanceType[] = Object.freeze([
  //   id               name             vCPU  MiB    disk GB  Mbps   micro-USD/h  category
  type('basic-1',       'Basic 1',       1,    512,   10,      500,   10_000,      'general-purpose'),
  type('basic-2',       'Basic 2',       1,    1024,  10,      1000,  20_000,      'general-purpose'),
  type('basic-4',       'Basic 4',       2,    2048,  20,      1000,  40_000,      'general-purpose'),
  type('standard-1',    'Standard 1',    1,    2048,  25,      1000,  30_000,      'balanced'),
  type('standard-2',    'Standard 2',    2,    4096,  50,      2000,  60_000,      'balanced'),
  type('standard-4',    'Standard 4',    4,    8192,  100,     4000,  120_000,     'balanced'),
  type('performance-1', 'Performance 1', 4,    16384, 200,     10000, 320_000,     'performance'),
  type('performance-2', 'Performance 2', 8,    32768, 400,     10000, 640_000,     'performance'),
]);

export function findInstanceType(
  id: string,
  catalog: readonly InstanceType[] = INSTANCE_TYPES,
): InstanceType | undefined {
  return catalog.find((t) => t.id === id);
}

/** 400 for a missing or unknown type (the issue: "unknown image or type -> 400"). */
export function resolveInstanceType(
  id: unknown,
  field = 'instance_type',
  catalog: readonly InstanceType[] = INSTANCE_TYPES,
): InstanceType {
  if (typeof id !== 'string' || id.trim() === '') {
    throw AppError.validation(`${field} is required`, [{ path: field, message: 'is required' }]);
  }
  const found = findInstanceType(id, catalog);
  if (!found) {
    const known = catalog.map((t) => t.id).join(', ');
    throw AppError.validation(`unknown instance type "${id}"; known types: ${known}`, [
      { path: field, message: `unknown instance type "${id}"` },
    ]);
  }
  return found;
}

/** Exact decimal string of a micro-USD amount, without trailing zeros: 20_000 -> "0.02". */
export function formatMicroUsd(microUsd: number): string {
  if (!Number.isSafeInteger(microUsd)) throw new RangeError(`not an integer amount: ${microUsd}`);
  const sign = microUsd < 0 ? '-' : '';
  const abs = Math.abs(microUsd);
  const whole = Math.floor(abs / MICRO_USD_PER_USD);
  const fraction = String(abs % MICRO_USD_PER_USD)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** Parses "0.02" (at most six decimals) into micro-USD without floating point. */
export function parseUsd(decimal: string): number {
  const m = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(decimal);
  if (!m) throw new RangeError(`not a USD amount with at most 6 decimals: "${decimal}"`);
  const micro = Number(m[2]) * MICRO_USD_PER_USD + Number((m[3] ?? '').padEnd(6, '0'));
  return m[1] === '-' ? -micro : micro;
}

/** The API shape of one catalog entry (seed 001: `GET /instance-types`). */
export interface InstanceTypeView {
  id: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  network_mbps: number;
  /** For display: a JSON number as in the seed. Use `price_per_hour_micro_usd` to compute. */
  price_per_hour: number;
  price_per_hour_micro_usd: number;
  currency: 'USD';
  category: InstanceTypeCategory;
}

export function instanceTypeView(type: InstanceType): InstanceTypeView {
  return {
    id: type.id,
    name: type.name,
    vcpus: type.vcpus,
    memory_mb: type.memoryMb,
    disk_gb: type.diskGb,
    network_mbps: type.networkMbps,
    price_per_hour: Number(formatMicroUsd(type.pricePerHourMicroUsd)),
    price_per_hour_micro_usd: type.pricePerHourMicroUsd,
    currency: 'USD',
    category: type.category,
  };
}

/** What billing and audit need of a type, copied into instance events at the time they happen. */
export interface InstanceTypeSnapshot {
  id: string;
  vcpus: number;
  memoryMb: number;
  pricePerHourMicroUsd: number;
}

export function snapshotOf(type: InstanceType): InstanceTypeSnapshot {
  return {
    id: type.id,
    vcpus: type.vcpus,
    memoryMb: type.memoryMb,
    pricePerHourMicroUsd: type.pricePerHourMicroUsd,
  };
}

/** Docker HostConfig fields a type maps to (container create and `docker update`). */
export interface DockerResourceLimits {
  /** CPU quota in units of 1e-9 CPUs (`--cpus`). */
  NanoCpus: number;
  /** Memory limit in bytes (`--memory`). */
  Memory: number;
  /**
   * Memory plus swap, set equal to Memory so the container gets no swap and `docker update` can
   * raise or lower Memory in one call (Docker refuses Memory above an older MemorySwap).
   */
  MemorySwap: number;
}

export const NANO_CPUS_PER_VCPU = 1_000_000_000;
export const BYTES_PER_MIB = 1024 * 1024;

export interface DockerLimitOptions {
  /**
   * CPUs of the host. Docker rejects NanoCpus above the host's CPU count ("range of CPUs is from
   * 0.01 to N"), so on a small host a large type gets at most every CPU; `cpuClamped` says so.
   */
  hostCpus?: number;
}

export function dockerResourceLimits(
  type: Pick<InstanceType, 'vcpus' | 'memoryMb'>,
  options: DockerLimitOptions = {},
): DockerResourceLimits & { cpuClamped: boolean } {
  const wanted = type.vcpus;
  const host = options.hostCpus;
  const cpus = host !== undefined && host > 0 && wanted > host ? host : wanted;
  const memory = type.memoryMb * BYTES_PER_MIB;
  return {
    NanoCpus: Math.round(cpus * NANO_CPUS_PER_VCPU),
    Memory: memory,
    MemorySwap: memory,
    cpuClamped: cpus !== wanted,
  };
}
