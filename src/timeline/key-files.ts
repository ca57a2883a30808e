/**
 * Where the server keeps its timeline signing key (no Nest here: the offline verifier imports it).
 */
import { createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTimelineKeyPair } from './domain';

export const TIMELINE_KEY_FILE = 'timeline-ed25519.pem';
export const TIMELINE_PUBLIC_KEY_FILE = 'timeline-ed25519.pub.pem';

/** Reads the private key PEM from the environment value, the key file, or generates it. */
export function loadOrCreateTimelineKey(dataDir: string, configured?: string): string {
  if (configured && configured.trim() !== '') {
    return configured.includes('BEGIN') ? configured : readFileSync(configured, 'utf8');
  }
  const directory = join(dataDir, 'keys');
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const path = join(directory, TIMELINE_KEY_FILE);
  try {
    const pem = readFileSync(path, 'utf8');
    const publicPath = join(directory, TIMELINE_PUBLIC_KEY_FILE);
    if (!existsSync(publicPath)) {
      const publicPem = createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
      writeFileSync(publicPath, publicPem, { mode: 0o644 });
    }
    return pem;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = generateTimelineKeyPair();
  try {
    writeFileSync(path, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process won the race: its key is the one.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8');
    throw err;
  }
  chmodSync(path, 0o600);
  writeFileSync(join(directory, TIMELINE_PUBLIC_KEY_FILE), pair.publicKeyPem, { mode: 0o644 });
  return pair.privateKeyPem;
}
