/**
 * S3 secret access keys at rest: AES-256-GCM under a key derived from the server's master key,
 * bound to the access key's id (a sealed secret copied onto another key does not open).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  type BinaryLike,
} from 'node:crypto';

export const ACCESS_KEY_SECRETS = Symbol('ACCESS_KEY_SECRETS');

const PREFIX = 's3k1';

export class AccessKeySecrets {
  private readonly key: Buffer;

  constructor(masterKey: BinaryLike) {
    this.key = createHmac('sha256', masterKey).update('nimbus-s3-access-key-secrets-v1').digest();
  }

  seal(id: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`s3-access-key:${id}`));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `${PREFIX}.${[iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.')}`;
  }

  open(id: string, sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== PREFIX) throw new Error('malformed sealed secret');
    const [iv, body, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(`s3-access-key:${id}`));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A new key pair: `NIMB` + 16 base32 characters, and a 40-character secret (AWS's shapes). */
export function newAccessKeyPair(): { accessKeyId: string; secret: string } {
  const bytes = randomBytes(16);
  const accessKeyId = `NIMB${[...bytes].map((b) => BASE32[b & 31]).join('')}`;
  const secret = randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
  return { accessKeyId, secret };
}
