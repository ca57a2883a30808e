/**
 * Envelope encryption of secret values: each sealing draws a fresh 256-bit data key, encrypts the
 * value with it (AES-256-GCM, bound to the tenant and the secret by associated data), and keeps
 * the data key only wrapped by the master key (identity's key-wrapping, so master keys rotate the
 * same way everywhere).
 *
 *   sv1.<wrapped data key: dk1.<master id>.<iv>.<ct>.<tag>>.<iv>.<ciphertext>.<tag>
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import {
  DecryptionError,
  generateDataKey,
  unwrapDataKey,
  wrapDataKey,
  type MasterKeyring,
} from '../../identity/crypto/personal-data';

const PREFIX = 'sv1';

function aad(tenantId: string, secretId: string): Buffer {
  return Buffer.from(`nimbus:secret:v1:${tenantId}:${secretId}`, 'utf8');
}

export class SecretSealer {
  constructor(private readonly ring: MasterKeyring) {}

  seal(tenantId: string, secretId: string, value: string): string {
    const dataKey = generateDataKey();
    try {
      const wrapped = wrapDataKey(this.ring, `secret:${secretId}`, dataKey);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
      cipher.setAAD(aad(tenantId, secretId));
      const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      const parts = [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url'));
      return [PREFIX, wrapped, ...parts].join('.');
    } finally {
      dataKey.fill(0);
    }
  }

  open(tenantId: string, secretId: string, sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 9 || parts[0] !== PREFIX)
      throw new DecryptionError('malformed sealed secret');
    const dataKey = unwrapDataKey(this.ring, `secret:${secretId}`, parts.slice(1, 6).join('.'));
    try {
      const [iv, body, tag] = parts.slice(6).map((p) => Buffer.from(p, 'base64url'));
      const decipher = createDecipheriv('aes-256-gcm', dataKey, iv);
      decipher.setAAD(aad(tenantId, secretId));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError('sealed secret failed authentication');
    } finally {
      dataKey.fill(0);
    }
  }
}
