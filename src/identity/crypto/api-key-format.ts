/**
 * API keys: `nimbus_<prefix>_<secret>`, both parts random base62.
 *
 * The prefix (12 characters) is stored in clear and is the lookup key of the read model; the
 * secret (32 characters, about 190 bits) is never stored: only an HMAC-SHA-256 of the whole key
 * under a server pepper, so a leaked table of hashes cannot be brute-forced offline without the
 * pepper. Verification compares hashes in constant time.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual, isBase62, randomBase62 } from './encoding';

export const API_KEY_PREFIX_LENGTH = 12;
export const API_KEY_SECRET_LENGTH = 32;
const MIN_PEPPER_BYTES = 32;

export interface GeneratedApiKey {
  /** The full key, shown to the user once and never stored. */
  key: string;
  /** Stored in clear; unique lookup handle. */
  prefix: string;
  /** Stored: HMAC-SHA-256(pepper, key), hex. */
  keyHash: string;
}

export interface ParsedApiKey {
  prefix: string;
  secret: string;
}

const KEY_RE = /^nimbus_([0-9A-Za-z]+)_([0-9A-Za-z]+)$/;

function assertPepper(pepper: Buffer): void {
  if (pepper.length < MIN_PEPPER_BYTES) {
    throw new Error(`the API key pepper must be at least ${MIN_PEPPER_BYTES} bytes`);
  }
}

export function hashApiKey(key: string, pepper: Buffer): string {
  assertPepper(pepper);
  return createHmac('sha256', pepper).update('nimbus-api-key\0').update(key, 'utf8').digest('hex');
}

export function generateApiKey(pepper: Buffer): GeneratedApiKey {
  const prefix = randomBase62(API_KEY_PREFIX_LENGTH);
  const secret = randomBase62(API_KEY_SECRET_LENGTH);
  const key = `nimbus_${prefix}_${secret}`;
  return { key, prefix, keyHash: hashApiKey(key, pepper) };
}

/** The parts of a well-formed key; null for anything else (including JWTs and garbage). */
export function parseApiKey(presented: string): ParsedApiKey | null {
  const m = KEY_RE.exec(presented);
  if (!m) return null;
  const [, prefix, secret] = m;
  if (!isBase62(prefix, API_KEY_PREFIX_LENGTH) || !isBase62(secret, API_KEY_SECRET_LENGTH)) {
    return null;
  }
  return { prefix, secret };
}

/** Constant-time check of a presented key against the stored hash. */
export function verifyApiKey(presented: string, storedKeyHash: string, pepper: Buffer): boolean {
  return constantTimeEqual(hashApiKey(presented, pepper), storedKeyHash);
}

/** Whether a bearer credential looks like an API key (rather than a JWT). */
export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith('nimbus_');
}
