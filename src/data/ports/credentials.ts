import { randomBytes } from 'node:crypto';

/** A password for an engine: 32 URL-safe characters (192 bits), safe in any connection string. */
export function newEnginePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** The secrets-store name of a cache's password. */
export function cacheSecretName(cacheId: string): string {
  return `nimbus/cache/${cacheId}/password`;
}

/** The secrets-store name of a database's password. */
export function databaseSecretName(databaseId: string): string {
  return `nimbus/database/${databaseId}/password`;
}

/** The secrets-store name of the password a replica's primary knows its replication role by. */
export function replicationSecretName(replicaId: string): string {
  return `nimbus/database/${replicaId}/replication-password`;
}

/**
 * The physical replication slot a replica streams through on its primary; the replication role
 * that logs in for it has the same name (lower-case letters, digits and `_`: no quoting needed).
 */
export function replicationSlotName(replicaId: string): string {
  return `nimbus_replica_${replicaId.replace(/-/g, '')}`;
}
