/**
 * The webhook signing contract (served in the API docs; receivers implement the verify side).
 *
 * Every delivery is a POST of a JSON body with these headers:
 *
 *   X-Nimbus-Event:      the event type, e.g. `instance.launched`
 *   X-Nimbus-Event-Id:   the event id; deliveries are at-least-once, de-duplicate on it
 *   X-Nimbus-Timestamp:  Unix time in whole seconds when this attempt was signed
 *   X-Nimbus-Signature:  sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * The HMAC input is the timestamp's decimal text, a `.`, then the raw body bytes exactly as sent.
 * A receiver recomputes it over the raw bytes (before any JSON parsing), compares in constant time
 * and rejects timestamps more than 300 seconds from its clock (replay window). Each retry is signed
 * anew with its own timestamp. While a secret is being rotated the header may carry several
 * comma-separated `sha256=` values; one matching is enough.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';

export const EVENT_HEADER = 'X-Nimbus-Event';
export const EVENT_ID_HEADER = 'X-Nimbus-Event-Id';
export const TIMESTAMP_HEADER = 'X-Nimbus-Timestamp';
export const SIGNATURE_HEADER = 'X-Nimbus-Signature';
export const SIGNATURE_SCHEME = 'sha256';
/** Seconds a signed timestamp may be away from the receiver's clock, either way. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type RawBody = string | Buffer;

function toBuffer(body: RawBody): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Hex HMAC-SHA256(secret, "<timestamp>.<raw body>"). */
export function computeSignature(secret: string, timestamp: number, rawBody: RawBody): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(`timestamp must be whole Unix seconds, got ${timestamp}`);
  }
  return createHmac('sha256', secret)
    .update(`${timestamp}.`, 'utf8')
    .update(toBuffer(rawBody))
    .digest('hex');
}

export interface SignRequest {
  secret: string;
  eventType: string;
  eventId: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  rawBody: RawBody;
}

/** The headers of one delivery attempt (Content-Type included). */
export function signDelivery(request: SignRequest): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    [EVENT_HEADER]: request.eventType,
    [EVENT_ID_HEADER]: request.eventId,
    [TIMESTAMP_HEADER]: String(request.timestamp),
    [SIGNATURE_HEADER]: `${SIGNATURE_SCHEME}=${computeSignature(request.secret, request.timestamp, request.rawBody)}`,
  };
}

export type SignatureFailure =
  | 'missing_header'
  | 'malformed_timestamp'
  | 'timestamp_out_of_window'
  | 'malformed_signature'
  | 'signature_mismatch';

export type SignatureVerdict = { ok: true } | { ok: false; reason: SignatureFailure };

export interface VerifyRequest {
  /** The current secret, or several while rotating. */
  secrets: string | readonly string[];
  rawBody: RawBody;
  signatureHeader: string | undefined | null;
  timestampHeader: string | undefined | null;
  /** The receiver's clock, Unix seconds. */
  now: number;
  toleranceSeconds?: number;
}

const TIMESTAMP_RE = /^\d{1,15}$/;
const SIGNATURE_RE = /^sha256=([0-9a-f]{64})$/;

/** Receiver-side check of a delivery. Constant-time comparison of the MACs. */
export function verifyDelivery(request: VerifyRequest): SignatureVerdict {
  const { signatureHeader, timestampHeader } = request;
  if (!signatureHeader || !timestampHeader) return { ok: false, reason: 'missing_header' };
  if (!TIMESTAMP_RE.test(timestampHeader.trim()))
    return { ok: false, reason: 'malformed_timestamp' };
  const timestamp = Number(timestampHeader.trim());
  const tolerance = request.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(request.now - timestamp) > tolerance) {
    return { ok: false, reason: 'timestamp_out_of_window' };
  }
  const offered: Buffer[] = [];
  for (const part of signatureHeader.split(',')) {
    const m = SIGNATURE_RE.exec(part.trim());
    if (m) offered.push(Buffer.from(m[1], 'hex'));
  }
  if (offered.length === 0) return { ok: false, reason: 'malformed_signature' };
  const secrets = typeof request.secrets === 'string' ? [request.secrets] : request.secrets;
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(computeSignature(secret, timestamp, request.rawBody), 'hex');
    // every comparison runs, so the time taken does not tell which one matched
    for (const candidate of offered) matched = timingSafeEqual(expected, candidate) || matched;
  }
  return matched ? { ok: true } : { ok: false, reason: 'signature_mismatch' };
}
