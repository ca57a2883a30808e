/**
 * The server's Ed25519 key signing timeline manifests: `<data dir>/keys/timeline-ed25519.pem`
 * (PKCS#8, mode 0600), generated on first start (a configured key, PEM text or a path, is
 * passed as `configured`). The public half is written beside it (`timeline-ed25519.pub.pem`) so
 * `npm run verify-timeline` works offline on the server too.
 */
import { Inject, Injectable } from '@nestjs/common';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../platform/tokens';
import {
  ed25519Signer,
  publicKeyDocument,
  type TimelinePublicKeyDocument,
  type TimelineSigner,
} from './domain';
import { loadOrCreateTimelineKey } from './key-files';

export { TIMELINE_KEY_FILE, TIMELINE_PUBLIC_KEY_FILE } from './key-files';

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
