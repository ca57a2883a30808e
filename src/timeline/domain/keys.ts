/**
 * The server's Ed25519 key for signing timeline manifests (node:crypto, no extra dependency).
 *
 * `key_id` names a public key: the first 16 hex digits of SHA-256 over its SPKI DER encoding.
 * `GET /.well-known/nimbus-timeline-key` serves `publicKeyDocument(...)`; storing the private key
 * (generated under `.nimbus/` on first start) is the application's job, not this module's.
 */

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

/** A public key as a verifier may receive it: PEM text, a JWK (object or JSON text), a KeyObject. */
export type TimelinePublicKeyInput = string | JsonWebKey | KeyObject;

export interface TimelineSigner {
  readonly keyId: string;
  sign(message: Buffer): Buffer;
}

export class TimelineKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimelineKeyError';
  }
}

function assertEd25519(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TimelineKeyError(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'none'}`);
  }
  return key;
}

/** Reads a public key from PEM, JWK (object or JSON text) or a KeyObject (a private one works). */
export function toPublicKey(input: TimelinePublicKeyInput): KeyObject {
  try {
    if (typeof input === 'string') {
      const text = input.trim();
      if (text.startsWith('{')) {
        return assertEd25519(
          createPublicKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' }),
        );
      }
      return assertEd25519(createPublicKey(text));
    }
    if ('asymmetricKeyType' in input && typeof (input as KeyObject).export === 'function') {
      const key = input as KeyObject;
      return assertEd25519(key.type === 'public' ? key : createPublicKey(key));
    }
    return assertEd25519(createPublicKey({ key: input as JsonWebKey, format: 'jwk' }));
  } catch (error) {
    if (error instanceof TimelineKeyError) throw error;
    throw new TimelineKeyError(`not a usable public key: ${(error as Error).message}`);
  }
}

export function timelineKeyId(input: TimelinePublicKeyInput): string {
  const der = toPublicKey(input).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** A signer over an Ed25519 private key given as a KeyObject or PKCS#8 PEM. */
export function ed25519Signer(privateKey: KeyObject | string): TimelineSigner {
  const key = assertEd25519(
    typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey,
  );
  if (key.type !== 'private') throw new TimelineKeyError('a signer needs the private key');
  const keyId = timelineKeyId(createPublicKey(key));
  return { keyId, sign: (message) => sign(null, message, key) };
}

export function verifyEd25519(publicKey: KeyObject, message: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}

export function generateTimelineKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** What `GET /.well-known/nimbus-timeline-key` serves. */
export interface TimelinePublicKeyDocument {
  key_id: string;
  algorithm: 'Ed25519';
  public_key_pem: string;
  jwk: JsonWebKey;
}

export function publicKeyDocument(input: TimelinePublicKeyInput): TimelinePublicKeyDocument {
  const key = toPublicKey(input);
  return {
    key_id: timelineKeyId(key),
    algorithm: 'Ed25519',
    public_key_pem: key.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: { ...key.export({ format: 'jwk' }), kid: timelineKeyId(key), alg: 'EdDSA', use: 'sig' },
  };
}
