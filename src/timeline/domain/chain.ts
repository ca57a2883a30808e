/**
 * The tenant timeline export as a hash chain (NDJSON), closed by a signed manifest.
 *
 * File format, one JSON value per line, each line the canonical JSON (canonical-json.ts) of:
 *
 *   {"action","actor","hash","position","prev_hash","resource","seq","summary","tenant_id","time"}
 *   ...
 *   {"count","final_hash","first_position","from","key_id","last_position","signature",
 *    "signed_at","tenant_id","to","type":"manifest","version":1}
 *
 * - `seq` numbers the event lines of this file from 1; `position` is the event's opaque global
 *   position (`encodePosition`), strictly increasing.
 * - `hash = hex(sha256(prev_hash + canonicalJson(line without "hash")))` (UTF-8). `prev_hash` of
 *   the first line is `GENESIS_HASH` (64 zeros): the chain is per export file, so an export of a
 *   time range starts a fresh chain and is verifiable on its own.
 * - The manifest carries the count, the first and last position, the final hash (`GENESIS_HASH`
 *   for an empty export) and the range exported; `signature` is base64url(Ed25519 over the
 *   canonical JSON of the manifest without "signature"), by the key named `key_id`.
 *
 * Erased personal data: the export renders crypto-shredded fields as `[erased]` (ERASED) while it
 * builds each line, before hashing. `[erased]` is ordinary data to the chain, so the file verifies;
 * two exports of the same range taken before and after an erasure differ in those lines only.
 *
 * The builder holds only the previous hash and counters: O(1) memory, one line at a time.
 */

import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { TimelineSigner } from './keys';

export const GENESIS_HASH = '0'.repeat(64);
/** How crypto-shredded personal data reads in an export (the same text identity uses). */
export const ERASED = '[erased]';
export const MANIFEST_VERSION = 1;

/** One event as the export route hands it to the chain (already rendered, erasure applied). */
export interface TimelineEntry {
  /** `encodePosition(event.position)`. */
  position: string;
  /** RFC 3339 instant the fact happened. */
  time: string;
  actor: string;
  action: string;
  resource: string;
  /** A readable summary of what changed (see summarizeChange). */
  summary: string;
}

export interface TimelineLine extends TimelineEntry {
  seq: number;
  tenant_id: string;
  prev_hash: string;
  hash: string;
}

export interface TimelineManifest {
  type: 'manifest';
  version: number;
  tenant_id: string;
  /** The requested range (RFC 3339), null when open-ended. */
  from: string | null;
  to: string | null;
  count: number;
  first_position: string | null;
  last_position: string | null;
  final_hash: string;
  signed_at: string;
  key_id: string;
  signature: string;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Canonical JSON of an event line, written by hand for speed (the export's hot path): the members
 * in sorted key order, `hash` included when given. Equal to `canonicalJson` of the same object for
 * every well-formed line (a unit test checks that on generated lines).
 */
function lineJson(line: Omit<TimelineLine, 'hash'>, hash: string | null): string {
  const [head, tail] = lineParts(line);
  return hash === null ? `${head},${tail}` : `${head},"hash":${JSON.stringify(hash)},${tail}`;
}

/** The members before and after "hash", in canonical order (the hash goes between them). */
function lineParts(line: Omit<TimelineLine, 'hash'>): [string, string] {
  const str = JSON.stringify;
  const head = `{"action":${str(line.action)},"actor":${str(line.actor)}`;
  const tail =
    `"position":${str(line.position)},"prev_hash":${str(line.prev_hash)},` +
    `"resource":${str(line.resource)},"seq":${str(line.seq)},"summary":${str(line.summary)},` +
    `"tenant_id":${str(line.tenant_id)},"time":${str(line.time)}}`;
  return [head, tail];
}

/** The hash a line must carry, from everything in it except `hash`. */
export function lineHash(line: Omit<TimelineLine, 'hash'> | TimelineLine): string {
  return sha256Hex(line.prev_hash + lineJson(line, null));
}

/** The bytes the manifest signature covers. */
export function manifestSigningInput(
  manifest: Omit<TimelineManifest, 'signature'> | TimelineManifest,
): Buffer {
  const { signature: _ignored, ...content } = manifest as TimelineManifest;
  return Buffer.from(canonicalJson(content), 'utf8');
}

/** The canonical JSON text of a line (no newline). */
export function lineText(line: TimelineLine | TimelineManifest): string {
  return 'type' in line ? canonicalJson(line) : lineJson(line, line.hash);
}

/** A line of the file, newline included. */
export function serializeLine(line: TimelineLine | TimelineManifest): string {
  return `${lineText(line)}\n`;
}

export class TimelineChainBuilder {
  private prevHash = GENESIS_HASH;
  private count = 0;
  private firstPosition: string | null = null;
  private lastPosition: string | null = null;
  private finished = false;

  constructor(
    readonly tenantId: string,
    private readonly range: { from: string | null; to: string | null } = { from: null, to: null },
  ) {}

  /** The next line; the caller writes `serializeLine(line)`. */
  append(entry: TimelineEntry): TimelineLine {
    return this.next(entry).line;
  }

  /**
   * The next line already serialised (newline included): equal to `serializeLine(append(entry))`,
   * with the canonical JSON built once for both the hash and the text (the export's hot path).
   */
  appendText(entry: TimelineEntry): string {
    return this.next(entry).text;
  }

  private next(entry: TimelineEntry): { line: TimelineLine; text: string } {
    if (this.finished) throw new Error('the timeline is already closed by its manifest');
    const content: Omit<TimelineLine, 'hash'> = {
      seq: this.count + 1,
      position: entry.position,
      time: entry.time,
      actor: entry.actor,
      action: entry.action,
      resource: entry.resource,
      summary: entry.summary,
      tenant_id: this.tenantId,
      prev_hash: this.prevHash,
    };
    const [head, tail] = lineParts(content);
    const hash = sha256Hex(`${content.prev_hash}${head},${tail}`);
    const line: TimelineLine = { ...content, hash };
    this.prevHash = hash;
    this.count += 1;
    this.firstPosition ??= entry.position;
    this.lastPosition = entry.position;
    return { line, text: `${head},"hash":"${hash}",${tail}\n` };
  }

  /** Closes the chain with the signed manifest. */
  finish(signer: TimelineSigner, signedAt: Date): TimelineManifest {
    if (this.finished) throw new Error('the timeline is already closed by its manifest');
    this.finished = true;
    const unsigned: Omit<TimelineManifest, 'signature'> = {
      type: 'manifest',
      version: MANIFEST_VERSION,
      tenant_id: this.tenantId,
      from: this.range.from,
      to: this.range.to,
      count: this.count,
      first_position: this.firstPosition,
      last_position: this.lastPosition,
      final_hash: this.prevHash,
      signed_at: signedAt.toISOString(),
      key_id: signer.keyId,
    };
    const signature = signer.sign(manifestSigningInput(unsigned)).toString('base64url');
    return { ...unsigned, signature };
  }
}

const REDACTED_KEY = /password|secret|token|hash|cipher|wrapped|private/i;
const MAX_SUMMARY = 240;

/**
 * A readable one-line summary of an event: its type and its top-level scalar fields, sorted
 * (`InstanceResized: instance_type=basic-4`). Fields that could hold secrets (password, secret,
 * token, hash...) are left out; nested values are shown as `{…}`/`[n]`. Call it after erasure,
 * so erased fields read `[erased]`.
 */
export function summarizeChange(type: string, data: unknown): string {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return type;
  const parts: string[] = [];
  for (const key of Object.keys(data).sort()) {
    if (REDACTED_KEY.test(key)) continue;
    const value = (data as Record<string, unknown>)[key];
    if (value === undefined) continue;
    let shown: string;
    if (value === null || typeof value === 'number' || typeof value === 'boolean')
      shown = String(value);
    else if (typeof value === 'string') shown = value;
    else if (Array.isArray(value)) shown = `[${value.length}]`;
    else shown = '{…}';
    parts.push(`${key}=${shown}`);
  }
  const text = parts.length > 0 ? `${type}: ${parts.join(', ')}` : type;
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 1)}…` : text;
}
