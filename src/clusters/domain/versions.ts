/**
 * Kubernetes versions Nimbus provisions, and the upgrade rule: one minor version at a time, never
 * down (a patch release within the minor is allowed). Pure.
 */

/** Oldest first. */
export const SUPPORTED_VERSIONS = [
  'v1.28.0',
  'v1.28.15',
  'v1.29.0',
  'v1.29.10',
  'v1.30.0',
  'v1.30.6',
  'v1.31.0',
  'v1.31.2',
] as const;

export type KubernetesVersion = (typeof SUPPORTED_VERSIONS)[number];

export interface ParsedVersion {
  major: number;
  minor: number;
  patch: number;
}

const VERSION_RE = /^v(\d+)\.(\d+)\.(\d+)$/;

export function parseVersion(version: string): ParsedVersion | null {
  const m = VERSION_RE.exec(version);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export function isSupportedVersion(version: unknown): version is KubernetesVersion {
  return typeof version === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** Why `to` is not a valid upgrade from `from`, or null when it is. */
export function upgradePathProblem(from: string, to: string): string | null {
  const a = parseVersion(from);
  const b = parseVersion(to);
  if (!a || !b) return `${to} is not a version`;
  if (a.major !== b.major) return `cannot change the major version (${from} -> ${to})`;
  const older = b.minor < a.minor || (b.minor === a.minor && b.patch <= a.patch);
  if (older) return `${to} is not newer than the cluster's ${from}`;
  if (b.minor - a.minor > 1) {
    return `upgrades go one minor version at a time: from ${from} the next is v${a.major}.${a.minor + 1}.x`;
  }
  return null;
}

/** `arn:nimbus:clusters:local:<tenant>:cluster/<id>`. */
export function clusterArn(tenantId: string, clusterId: string): string {
  return `arn:nimbus:clusters:local:${tenantId}:cluster/${clusterId}`;
}
