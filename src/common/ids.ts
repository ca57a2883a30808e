import { createHash, randomUUID } from 'node:crypto';

/** Namespace for ids Nimbus derives deterministically (uuid v5, RFC 9562). */
export const NIMBUS_NAMESPACE = '5b0c4d1e-2f3a-5b6c-8d7e-9f0a1b2c3d4e';

export function uuidV5(name: string, namespace: string = NIMBUS_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = Buffer.from(hash.subarray(0, 16));
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id of the `index`-th event a command produces: a retried command reproduces the same ids. */
export function eventIdFor(commandId: string, index: number): string {
  return uuidV5(`${commandId}/${index}`);
}

export function newId(): string {
  return randomUUID();
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}
