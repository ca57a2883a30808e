/**
 * AWS Signature Version 4 for S3, written from the AWS specification: the canonical request, the
 * string to sign, the signing key, and the chunk and trailer signatures of streaming uploads.
 * Pure (crypto only), so the traps are table-tested: query names and values RFC 3986-encoded
 * (`/` as %2F, space as %20, `!'()*` percent-encoded), a valueless parameter (`?uploads`) as
 * `uploads=`, the Host header with its port, header values trimmed with inner spaces folded.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** RFC 3986 encoding: everything but `A-Z a-z 0-9 - _ . ~` (and `/` when `keepSlash`). */
export function uriEncode(value: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Percent-decoding that leaves a malformed escape as it is (never throws). */
export function percentDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) =>
      String.fromCharCode(parseInt(h, 16)),
    );
  }
}

/** The decoded parameters of a raw query string, in order, a valueless one with value ''. */
export function parseQuery(rawQuery: string): Array<[string, string]> {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((pair): [string, string] => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return [percentDecode(name.replace(/\+/g, ' ')), percentDecode(value.replace(/\+/g, ' '))];
    });
}

/** The canonical query string: each name and value encoded, sorted by name, then value. */
export function canonicalQuery(params: ReadonlyArray<readonly [string, string]>): string {
  return params
    .map(([n, v]) => [uriEncode(n), uriEncode(v)] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

/** A header value as signed: trimmed, runs of spaces folded into one. */
export function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

export interface CanonicalRequestInput {
  method: string;
  /** The path as it goes into the canonical request (already encoded). */
  canonicalUri: string;
  query: ReadonlyArray<readonly [string, string]>;
  /** Lower-case name -> the values received (several are joined with `,`). */
  headers: ReadonlyMap<string, readonly string[]>;
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(input: CanonicalRequestInput): string {
  const headerLines = input.signedHeaders.map(
    (name) => `${name}:${(input.headers.get(name) ?? []).map(canonicalHeaderValue).join(',')}\n`,
  );
  return [
    input.method,
    input.canonicalUri,
    canonicalQuery(input.query),
    headerLines.join(''),
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

export const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

export interface Scope {
  /** yyyymmdd */
  date: string;
  region: string;
  service: string;
}

export const scopeString = (s: Scope) => `${s.date}/${s.region}/${s.service}/aws4_request`;

export function stringToSign(amzDate: string, scope: Scope, canonical: string): string {
  return [ALGORITHM, amzDate, scopeString(scope), sha256Hex(canonical)].join('\n');
}

export function signingKey(secret: string, scope: Scope): Buffer {
  const hmac = (key: string | Buffer, data: string) =>
    createHmac('sha256', key).update(data).digest();
  return hmac(
    hmac(hmac(hmac(`AWS4${secret}`, scope.date), scope.region), scope.service),
    'aws4_request',
  );
}

export function sign(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

/** Constant-time comparison of two hex signatures. */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The string to sign of one chunk of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`. */
export function chunkStringToSign(
  amzDate: string,
  scope: Scope,
  previousSignature: string,
  chunkSha256: string,
): string {
  return [
    `${ALGORITHM}-PAYLOAD`,
    amzDate,
    scopeString(scope),
    previousSignature,
    EMPTY_SHA256,
    chunkSha256,
  ].join('\n');
}

/** The string to sign of the trailer of a signed streaming upload (`name:value\n` per header). */
export function trailerStringToSign(
  amzDate: string,
  scope: Scope,
  previousSignature: string,
  trailers: ReadonlyArray<readonly [string, string]>,
): string {
  const canonical = trailers.map(([n, v]) => `${n.toLowerCase()}:${v.trim()}\n`).join('');
  return [
    `${ALGORITHM}-TRAILER`,
    amzDate,
    scopeString(scope),
    previousSignature,
    sha256Hex(canonical),
  ].join('\n');
}

export interface Credential {
  accessKeyId: string;
  scope: Scope;
}

/** `AKID/yyyymmdd/region/service/aws4_request`; null when malformed. */
export function parseCredential(value: string): Credential | null {
  const m = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(value);
  if (!m) return null;
  return { accessKeyId: m[1], scope: { date: m[2], region: m[3], service: m[4] } };
}

export interface AuthorizationHeader {
  credential: Credential;
  signedHeaders: string[];
  signature: string;
}

/** The parts of `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`. */
export function parseAuthorization(value: string): AuthorizationHeader | null {
  const trimmed = value.trim();
  if (!trimmed.startsWith(`${ALGORITHM} `)) return null;
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = parseCredential(fields.get('Credential') ?? '');
  const signedHeaders = (fields.get('SignedHeaders') ?? '').split(';').filter((h) => h !== '');
  const signature = fields.get('Signature') ?? '';
  if (!credential || signedHeaders.length === 0 || !/^[0-9a-f]{64}$/.test(signature)) return null;
  return { credential, signedHeaders, signature };
}

/** `yyyymmddThhmmssZ` -> Date; null when malformed. */
export function parseAmzDate(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
