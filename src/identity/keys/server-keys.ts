/**
 * The identity context's server secrets: the JWT signing secret (HS256, pinned), the master key
 * that wraps every user's personal-data key, and the pepper of API key and email lookup hashes.
 *
 * Each comes from configuration when set (NIMBUS_JWT_SECRET, NIMBUS_MASTER_KEY,
 * NIMBUS_API_KEY_PEPPER); otherwise it is generated on first start and kept in
 * `<data dir>/keys/<name>.key` (hex, mode 0600, directory 0700), so a restart keeps every session,
 * key hash and encrypted field readable. Losing the master key file erases every person at once.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../../config/config';
import type { MasterKeyring } from '../crypto/personal-data';

export interface ServerKeys {
  /** HS256 secret of access tokens. */
  jwtSecret: Uint8Array;
  /** Wraps per-user data keys (crypto/personal-data.ts). */
  masterKeyring: MasterKeyring;
  /** HMAC pepper of API key hashes (crypto/api-key-format.ts). */
  apiKeyPepper: Buffer;
  /** HMAC pepper of email lookup hashes, derived from the API key pepper. */
  emailLookupPepper: Buffer;
  /** Where generated keys live (for logs). */
  directory: string;
}

export type KeySource = 'configured' | 'generated' | 'file';

export interface LoadedServerKeys extends ServerKeys {
  sources: Record<'jwt' | 'master' | 'pepper', KeySource>;
}

const KEY_FILE_MODE = 0o600;

/** Reads `<dir>/<name>.key`, or writes a new random key there (0600) when it does not exist. */
export function loadOrCreateKeyFile(
  directory: string,
  name: string,
  bytes: number,
): { key: Buffer; source: 'generated' | 'file' } {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const path = join(directory, `${name}.key`);
  try {
    const text = readFileSync(path, 'utf8').trim();
    const key = Buffer.from(text, 'hex');
    if (key.length < bytes || key.toString('hex') !== text.toLowerCase()) {
      throw new Error(`${path} does not hold ${bytes} bytes of hex key material`);
    }
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, KEY_FILE_MODE);
    return { key, source: 'file' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(bytes);
  try {
    // 'wx': two processes starting at once cannot both write; the loser reads the winner's key.
    writeFileSync(path, `${key.toString('hex')}\n`, { mode: KEY_FILE_MODE, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return loadOrCreateKeyFile(directory, name, bytes);
    throw err;
  }
  return { key, source: 'generated' };
}

/** A short, stable, non-secret id of a master key, stored in each wrapped data key. */
export function masterKeyId(key: Buffer): string {
  return `mk-${createHash('sha256').update('nimbus-master-key-id\0').update(key).digest('hex').slice(0, 12)}`;
}

export function loadServerKeys(config: AppConfig): LoadedServerKeys {
  const directory = join(config.dataDir, 'keys');
  const pick = (configured: Buffer | null, name: string, bytes: number) =>
    configured
      ? { key: configured, source: 'configured' as const }
      : loadOrCreateKeyFile(directory, name, bytes);
  const jwt = pick(config.jwtSecret, 'jwt-hs256', 32);
  const master = pick(config.masterKey, 'master', 32);
  const pepper = pick(config.apiKeyPepper, 'pepper', 32);
  const masterKey = master.key.subarray(0, 32);
  return {
    jwtSecret: new Uint8Array(jwt.key),
    masterKeyring: { current: { id: masterKeyId(masterKey), key: masterKey } },
    apiKeyPepper: pepper.key,
    emailLookupPepper: createHmac('sha256', pepper.key).update('nimbus-email-lookup').digest(),
    directory,
    sources: { jwt: jwt.source, master: master.source, pepper: pepper.source },
  };
}
