/**
 * Offline verification of a timeline export (chain.ts describes the format). Reads one line at a
 * time and keeps O(1) state; stops at the first problem and names its line (1-based, as an editor
 * counts) and why:
 *
 * | reason                 | what it means                                                      |
 * | ---------------------- | ------------------------------------------------------------------ |
 * | malformed_line         | not JSON, not an object, a field missing or of the wrong type      |
 * | hash_mismatch          | the line's content does not match its own hash: it was altered     |
 * | not_canonical          | same values, different bytes (spacing, escapes, key order)         |
 * | line_missing           | a `seq` was skipped: lines were removed before this one            |
 * | line_out_of_order      | a `seq` came back: lines were reordered or duplicated              |
 * | chain_broken           | `prev_hash` is not the previous line's hash (a line altered and    |
 * |                        | rehashed, or lines removed/reordered and renumbered)               |
 * | position_out_of_order  | positions do not strictly increase                                 |
 * | tenant_mismatch        | a line of another tenant                                           |
 * | manifest_missing       | the file ends without its manifest (truncated)                     |
 * | manifest_mismatch      | the manifest's count, positions or final hash disagree with lines  |
 * | wrong_key              | the manifest names another key than the one verifying              |
 * | bad_signature          | the manifest's signature does not verify                           |
 * | content_after_manifest | anything after the manifest                                        |
 */

import { comparePositions, decodePosition, type Position } from '../../kernel/position';
import { canonicalJson } from './canonical-json';
import {
  GENESIS_HASH,
  lineHash,
  lineText,
  manifestSigningInput,
  type TimelineLine,
  type TimelineManifest,
} from './chain';
import { timelineKeyId, toPublicKey, verifyEd25519, type TimelinePublicKeyInput } from './keys';

export type TimelineFailureReason =
  | 'malformed_line'
  | 'hash_mismatch'
  | 'not_canonical'
  | 'line_missing'
  | 'line_out_of_order'
  | 'chain_broken'
  | 'position_out_of_order'
  | 'tenant_mismatch'
  | 'manifest_missing'
  | 'manifest_mismatch'
  | 'wrong_key'
  | 'bad_signature'
  | 'content_after_manifest';

export interface TimelineVerified {
  ok: true;
  /** Event lines (the manifest not counted). */
  count: number;
  tenant_id: string;
  final_hash: string;
  key_id: string;
  signed_at: string;
  first_position: string | null;
  last_position: string | null;
}

export interface TimelineFailure {
  ok: false;
  /** 1-based line number of the file where verification failed. */
  line: number;
  reason: TimelineFailureReason;
  message: string;
}

export type TimelineVerdict = TimelineVerified | TimelineFailure;

const HEX64 = /^[0-9a-f]{64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const LINE_STRING_FIELDS = [
  'position',
  'time',
  'actor',
  'action',
  'resource',
  'summary',
  'tenant_id',
] as const;

function asLine(value: Record<string, unknown>): TimelineLine | string {
  const allowed = new Set<string>([...LINE_STRING_FIELDS, 'seq', 'prev_hash', 'hash']);
  for (const key of Object.keys(value)) if (!allowed.has(key)) return `unexpected field "${key}"`;
  if (!Number.isSafeInteger(value.seq) || (value.seq as number) < 1)
    return '"seq" must be a positive integer';
  for (const field of LINE_STRING_FIELDS) {
    if (typeof value[field] !== 'string') return `"${field}" must be a string`;
  }
  for (const field of ['prev_hash', 'hash'] as const) {
    if (typeof value[field] !== 'string' || !HEX64.test(value[field]))
      return `"${field}" must be 64 hex digits`;
  }
  return value as unknown as TimelineLine;
}

function asManifest(value: Record<string, unknown>): TimelineManifest | string {
  const strings = ['tenant_id', 'final_hash', 'signed_at', 'key_id', 'signature'] as const;
  const nullableStrings = ['from', 'to', 'first_position', 'last_position'] as const;
  const allowed = new Set<string>([...strings, ...nullableStrings, 'type', 'version', 'count']);
  for (const key of Object.keys(value)) if (!allowed.has(key)) return `unexpected field "${key}"`;
  if (value.version !== 1) return `unsupported manifest version ${String(value.version)}`;
  if (!Number.isSafeInteger(value.count) || (value.count as number) < 0)
    return '"count" must be a non-negative integer';
  for (const field of strings)
    if (typeof value[field] !== 'string') return `"${field}" must be a string`;
  for (const field of nullableStrings) {
    if (value[field] !== null && typeof value[field] !== 'string')
      return `"${field}" must be a string or null`;
  }
  return value as unknown as TimelineManifest;
}

/**
 * Push the file's lines (without their newline) one by one, then call `finish()`. After the first
 * failure further lines are ignored and `finish()` returns that failure.
 */
export class TimelineVerifier {
  private readonly publicKey;
  private readonly expectedKeyId: string;
  private lineNumber = 0;
  private count = 0;
  private prevHash = GENESIS_HASH;
  private tenantId: string | null = null;
  private firstPosition: string | null = null;
  private lastPosition: string | null = null;
  private lastDecoded: Position | null = null;
  private manifest: TimelineManifest | null = null;
  private failure: TimelineFailure | null = null;

  constructor(publicKey: TimelinePublicKeyInput) {
    this.publicKey = toPublicKey(publicKey);
    this.expectedKeyId = timelineKeyId(this.publicKey);
  }

  get failed(): TimelineFailure | null {
    return this.failure;
  }

  push(rawLine: string): void {
    if (this.failure) return;
    this.lineNumber += 1;
    const n = this.lineNumber;
    const text = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (this.manifest)
      return this.fail('content_after_manifest', 'content after the manifest line');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.fail('malformed_line', `line ${n} is not valid JSON (altered or truncated)`);
    }
    if (!isRecord(parsed)) return this.fail('malformed_line', `line ${n} is not a JSON object`);
    if (parsed.type === 'manifest') return this.checkManifest(parsed, text);
    this.checkLine(parsed, text);
  }

  finish(): TimelineVerdict {
    if (this.failure) return this.failure;
    const manifest = this.manifest;
    if (!manifest) {
      const failure: TimelineFailure = {
        ok: false,
        line: this.lineNumber + 1,
        reason: 'manifest_missing',
        message: `the file ends after line ${this.lineNumber} without its signed manifest (truncated)`,
      };
      this.failure = failure;
      return failure;
    }
    return {
      ok: true,
      count: this.count,
      tenant_id: manifest.tenant_id,
      final_hash: manifest.final_hash,
      key_id: manifest.key_id,
      signed_at: manifest.signed_at,
      first_position: manifest.first_position,
      last_position: manifest.last_position,
    };
  }

  private checkLine(parsed: Record<string, unknown>, text: string): void {
    const n = this.lineNumber;
    const line = asLine(parsed);
    if (typeof line === 'string') return this.fail('malformed_line', `line ${n}: ${line}`);
    if (lineHash(line) !== line.hash) {
      return this.fail(
        'hash_mismatch',
        `line ${n} was altered: its content does not match its hash`,
      );
    }
    if (lineText(line) !== text) {
      return this.fail(
        'not_canonical',
        `line ${n} was altered: its bytes are not the canonical form of its content`,
      );
    }
    const expectedSeq = this.count + 1;
    if (line.seq > expectedSeq) {
      return this.fail(
        'line_missing',
        `line ${n} has seq ${line.seq} where seq ${expectedSeq} was expected: ${line.seq - expectedSeq} line(s) removed or reordered before it`,
      );
    }
    if (line.seq < expectedSeq) {
      return this.fail(
        'line_out_of_order',
        `line ${n} has seq ${line.seq} where seq ${expectedSeq} was expected: lines reordered or repeated`,
      );
    }
    if (line.prev_hash !== this.prevHash) {
      return this.fail(
        'chain_broken',
        n === 1
          ? 'line 1 does not start from the genesis hash'
          : `line ${n} does not follow line ${n - 1} (prev_hash differs): one of them was altered and rehashed, or lines were removed or reordered`,
      );
    }
    if (this.tenantId !== null && line.tenant_id !== this.tenantId) {
      return this.fail(
        'tenant_mismatch',
        `line ${n} belongs to tenant ${line.tenant_id}, not ${this.tenantId}`,
      );
    }
    const decoded = decodePosition(line.position);
    if (!decoded)
      return this.fail('malformed_line', `line ${n}: position ${line.position} is not a position`);
    if (this.lastDecoded && comparePositions(decoded, this.lastDecoded) <= 0) {
      return this.fail(
        'position_out_of_order',
        `line ${n}: position ${line.position} does not follow ${this.lastPosition ?? ''}`,
      );
    }
    this.tenantId ??= line.tenant_id;
    this.firstPosition ??= line.position;
    this.lastPosition = line.position;
    this.lastDecoded = decoded;
    this.prevHash = line.hash;
    this.count += 1;
  }

  private checkManifest(parsed: Record<string, unknown>, text: string): void {
    const n = this.lineNumber;
    const manifest = asManifest(parsed);
    if (typeof manifest === 'string')
      return this.fail('malformed_line', `manifest (line ${n}): ${manifest}`);
    if (canonicalJson(manifest) !== text) {
      return this.fail('not_canonical', `manifest (line ${n}) was altered: not in canonical form`);
    }
    const mismatch = (what: string, stated: unknown, actual: unknown) =>
      this.fail(
        'manifest_mismatch',
        `manifest (line ${n}) states ${what} ${JSON.stringify(stated)} but the lines give ${JSON.stringify(actual)}: lines were removed, added or altered`,
      );
    if (manifest.count !== this.count) return mismatch('count', manifest.count, this.count);
    if (manifest.final_hash !== this.prevHash)
      return mismatch('final_hash', manifest.final_hash, this.prevHash);
    if (manifest.first_position !== this.firstPosition) {
      return mismatch('first_position', manifest.first_position, this.firstPosition);
    }
    if (manifest.last_position !== this.lastPosition) {
      return mismatch('last_position', manifest.last_position, this.lastPosition);
    }
    if (this.tenantId !== null && manifest.tenant_id !== this.tenantId) {
      return mismatch('tenant_id', manifest.tenant_id, this.tenantId);
    }
    if (manifest.key_id !== this.expectedKeyId) {
      return this.fail(
        'wrong_key',
        `manifest (line ${n}) is signed by key ${manifest.key_id}, not by the key given (${this.expectedKeyId})`,
      );
    }
    let signature: Buffer;
    try {
      signature = Buffer.from(manifest.signature, 'base64url');
    } catch {
      signature = Buffer.alloc(0);
    }
    if (!verifyEd25519(this.publicKey, manifestSigningInput(manifest), signature)) {
      return this.fail(
        'bad_signature',
        `manifest (line ${n}): the signature does not verify with key ${this.expectedKeyId}`,
      );
    }
    this.manifest = manifest;
  }

  private fail(reason: TimelineFailureReason, message: string, line = this.lineNumber): void {
    this.failure = { ok: false, line, reason, message };
  }
}

/** Verifies lines from any (async) iterable, e.g. `readline` over a file or an HTTP body. */
export async function verifyTimelineLines(
  lines: AsyncIterable<string> | Iterable<string>,
  publicKey: TimelinePublicKeyInput,
): Promise<TimelineVerdict> {
  const verifier = new TimelineVerifier(publicKey);
  for await (const line of lines) {
    verifier.push(line);
    if (verifier.failed) break;
  }
  return verifier.finish();
}

/** Verifies a whole export held in memory (small files, tests, `POST /timeline/verify`). */
export function verifyTimelineText(
  text: string,
  publicKey: TimelinePublicKeyInput,
): TimelineVerdict {
  const verifier = new TimelineVerifier(publicKey);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    verifier.push(line);
    if (verifier.failed) break;
  }
  return verifier.finish();
}
