/**
 * Crypto-shredding of personal data (see ARCHITECTURE.md).
 *
 * Every user has a random 256-bit data key. Personal fields in events (email, name) are
 * AES-256-GCM ciphertexts under that key, bound by associated data to the user and the field so a
 * ciphertext cannot be moved to another user or field. The data key is stored only wrapped
 * (AES-256-GCM) under a server master key; destroying a user's wrapped key erases the person from
 * every event at once, and readers then render the field as ERASED (`[erased]`).
 *
 * Formats (base64url parts, `.`-separated, versioned by their first part):
 *   field:       pii1.<iv>.<ciphertext>.<tag>
 *   wrapped key: dk1.<master key id>.<iv>.<ciphertext>.<tag>
 *
 * Key material is passed in; storing wrapped keys and master keys is the key store's job.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** What erased personal data reads as, everywhere. */
export const ERASED = '[erased]';

export type EncryptedField = `pii1.${string}`;
export type WrappedDataKey = `dk1.${string}`;

export interface MasterKey {
  /** Short identifier stored in each wrapped key so master keys can be rotated. */
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** The current master key (used to wrap) and any older ones still able to unwrap. */
export interface MasterKeyring {
  current: MasterKey;
  previous?: readonly MasterKey[];
}

export interface PersonalFieldContext {
  /** The person the data belongs to (the user id). */
  subjectId: string;
  /** The field name, e.g. `email`. */
  field: string;
}

/** Thrown when a ciphertext was tampered with, or decrypted with the wrong key or context. */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

const IV_BYTES = 12;
const KEY_BYTES = 32;
const MASTER_KEY_ID_RE = /^[A-Za-z0-9-]{1,32}$/;

function assertKey(key: Buffer, what: string): void {
  if (key.length !== KEY_BYTES) throw new Error(`${what} must be ${KEY_BYTES} bytes`);
}

function seal(key: Buffer, plaintext: Buffer, aad: string): string[] {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [iv, ciphertext, cipher.getAuthTag()].map((b) => b.toString('base64url'));
}

function open(key: Buffer, parts: string[], aad: string): Buffer {
  const [iv, ciphertext, tag] = parts.map((p) => Buffer.from(p, 'base64url'));
  if (iv.length !== IV_BYTES || tag.length !== 16)
    throw new DecryptionError('malformed ciphertext');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new DecryptionError('ciphertext failed authentication');
  }
}

export function generateDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

function wrapAad(subjectId: string, masterKeyId: string): string {
  return `nimbus:data-key:v1:${masterKeyId}:${subjectId}`;
}

export function wrapDataKey(
  ring: MasterKeyring,
  subjectId: string,
  dataKey: Buffer,
): WrappedDataKey {
  assertKey(dataKey, 'a data key');
  assertKey(ring.current.key, 'a master key');
  if (!MASTER_KEY_ID_RE.test(ring.current.id)) throw new Error('invalid master key id');
  const parts = seal(ring.current.key, dataKey, wrapAad(subjectId, ring.current.id));
  return `dk1.${ring.current.id}.${parts.join('.')}`;
}

export function unwrapDataKey(ring: MasterKeyring, subjectId: string, wrapped: string): Buffer {
  const parts = wrapped.split('.');
  if (parts.length !== 5 || parts[0] !== 'dk1') throw new DecryptionError('malformed wrapped key');
  const masterKeyId = parts[1];
  const master = [ring.current, ...(ring.previous ?? [])].find((k) => k.id === masterKeyId);
  if (!master) throw new DecryptionError(`unknown master key ${masterKeyId}`);
  return open(master.key, parts.slice(2), wrapAad(subjectId, masterKeyId));
}

/** True when `wrapped` was made under an older master key: rewrap it with the current one. */
export function needsRewrap(ring: MasterKeyring, wrapped: string): boolean {
  return wrapped.split('.')[1] !== ring.current.id;
}

function fieldAad(context: PersonalFieldContext): string {
  return `nimbus:pii:v1:${context.subjectId}:${context.field}`;
}

export function encryptPersonalField(
  dataKey: Buffer,
  plaintext: string,
  context: PersonalFieldContext,
): EncryptedField {
  assertKey(dataKey, 'a data key');
  return `pii1.${seal(dataKey, Buffer.from(plaintext, 'utf8'), fieldAad(context)).join('.')}`;
}

export function decryptPersonalField(
  dataKey: Buffer,
  field: string,
  context: PersonalFieldContext,
): string {
  assertKey(dataKey, 'a data key');
  const parts = field.split('.');
  if (parts.length !== 4 || parts[0] !== 'pii1') throw new DecryptionError('malformed field');
  return open(dataKey, parts.slice(1), fieldAad(context)).toString('utf8');
}

/**
 * What a reader shows: the plaintext, or ERASED when the data key is gone (`null`). A field that
 * fails authentication under an existing key is an integrity problem and still throws.
 */
export function revealPersonalField(
  dataKey: Buffer | null,
  field: string,
  context: PersonalFieldContext,
): string {
  if (dataKey === null) return ERASED;
  return decryptPersonalField(dataKey, field, context);
}

/**
 * Deterministic lookup hash of a normalised email (HMAC-SHA-256 under a server pepper), used by
 * the email-uniqueness claim and the login lookup. Without the pepper it cannot be reversed by
 * hashing candidate emails, so it stays pseudonymous after the person is erased.
 */
export function emailLookupHash(normalizedEmail: string, pepper: Buffer): string {
  if (pepper.length < 32) throw new Error('the lookup pepper must be at least 32 bytes');
  return createHmac('sha256', pepper)
    .update('nimbus-email\0')
    .update(normalizedEmail, 'utf8')
    .digest('hex');
}
