/**
 * Webhook signing secrets, encrypted at rest (in the WebhookCreated event and the read model)
 * with AES-256-GCM under a key derived from the server's master key, bound to the webhook id.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

export class WebhookSecrets {
  private readonly key: Buffer;

  constructor(masterKey: Buffer) {
    this.key = createHmac('sha256', masterKey).update('nimbus-webhook-secrets-v1').digest();
  }

  encrypt(webhookId: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`webhook:${webhookId}`));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `whs1.${[iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.')}`;
  }

  decrypt(webhookId: string, sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== 'whs1') throw new Error('malformed webhook secret');
    const [iv, body, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(`webhook:${webhookId}`));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  }
}
