/**
 * The server's Ed25519 key signing timeline manifests: `<data dir>/keys/timeline-ed25519.pem`
 * (PKCS#8, mode 0600), generated on first start (a configured key, PEM text or a path, is
 * passed as `configured`). The public half is written beside it (`timeline-ed25519.pub.pem`) so
 * `npm run verify-timeline` works offline on the server too.
 */
import { Inject, Injectable } from '@nestjs/common';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../platform/tokens';
import {
  ed25519Signer,
  generateTimelineKeyPair,
  publicKeyDocument,
  type TimelinePublicKeyDocument,
  type TimelineSigner,
} from './domain';

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
    return readFileSync(path, 'utf8');
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

@Injectable()
export class TimelineKeys {
  readonly signer: TimelineSigner;
  readonly publicKey: KeyObject;
  readonly document: TimelinePublicKeyDocument;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const pem = loadOrCreateTimelineKey(config.dataDir);
    this.signer = ed25519Signer(pem);
    this.publicKey = createPublicKey(pem);
    this.document = publicKeyDocument(this.publicKey);
  }
}
