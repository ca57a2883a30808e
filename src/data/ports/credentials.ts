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
