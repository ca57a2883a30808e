/**
 * Opaque refresh and password-reset tokens: `nimbus_<kind>_<subject>_<secret>`.
 *
 * `subject` is the user id (a UUID, 32 hex digits without dashes) so a handler can load the
 * user's stream straight from the token, without waiting for a read model; `secret` is 43 random
 * base62 characters (about 256 bits). Only SHA-256 of the whole token is stored (in the user's
 * events); deciders compare hashes in constant time.
 */
import { constantTimeEqual, isBase62, randomBase62, sha256Hex } from './encoding';

export type OpaqueTokenKind = 'refresh' | 'reset';

const KIND_TAG: Record<OpaqueTokenKind, string> = { refresh: 'rt', reset: 'rst' };
const SECRET_LENGTH = 43;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface GeneratedOpaqueToken {
  /** Given to the client once, never stored. */
  token: string;
  /** Stored: SHA-256 of the token, hex. */
  tokenHash: string;
}

export function hashOpaqueToken(token: string): string {
  return sha256Hex(token);
}

export function generateOpaqueToken(
  kind: OpaqueTokenKind,
  subjectId: string,
): GeneratedOpaqueToken {
  if (!UUID_RE.test(subjectId)) throw new Error('opaque token subjects must be UUIDs');
  const subject = subjectId.replace(/-/g, '').toLowerCase();
  const token = `nimbus_${KIND_TAG[kind]}_${subject}_${randomBase62(SECRET_LENGTH)}`;
  return { token, tokenHash: hashOpaqueToken(token) };
}

/** The subject (user id) of a well-formed token of `kind`; null otherwise. */
export function parseOpaqueToken(
  kind: OpaqueTokenKind,
  token: string,
): { subjectId: string } | null {
  const parts = token.split('_');
  if (parts.length !== 4 || parts[0] !== 'nimbus' || parts[1] !== KIND_TAG[kind]) return null;
  const [, , subject, secret] = parts;
  if (!/^[0-9a-f]{32}$/.test(subject) || !isBase62(secret, SECRET_LENGTH)) return null;
  const subjectId = `${subject.slice(0, 8)}-${subject.slice(8, 12)}-${subject.slice(12, 16)}-${subject.slice(16, 20)}-${subject.slice(20)}`;
  return { subjectId };
}

export function opaqueTokenMatches(token: string, storedHash: string): boolean {
  return constantTimeEqual(hashOpaqueToken(token), storedHash);
}
