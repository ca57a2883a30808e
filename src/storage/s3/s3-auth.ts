/**
 * Who signed an S3 request: AWS Signature V4 in the Authorization header or in the query
 * (presigned URL), verified against the secret of the access key it names. The key acts for its
 * tenant as the user who created it; the IAM check (`authorize`) evaluates that user's role and
 * policies exactly as the native API's guard does.
 */
import type { IncomingHttpHeaders } from 'node:http';

import type { ActiveAccessKey } from '../application/access-keys';
import { S3Error } from './s3-errors';
import {
  ALGORITHM,
  canonicalRequest,
  parseAmzDate,
  parseAuthorization,
  parseCredential,
  sameSignature,
  sign,
  signingKey,
  stringToSign,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  UNSIGNED_PAYLOAD,
  uriEncode,
  percentDecode,
  type Scope,
} from './sigv4';

export const MAX_SKEW_MS = 15 * 60 * 1000;
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export type PayloadMode =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; hex: string }
  | { kind: 'streaming-signed'; trailer: boolean }
  | { kind: 'streaming-unsigned-trailer' };

export interface Verified {
  key: ActiveAccessKey;
  payload: PayloadMode;
  signingKey: Buffer;
  amzDate: string;
  scope: Scope;
  signature: string;
}

export interface SignedRequest {
  method: string;
  /** The path as received (still percent-encoded). */
  rawPath: string;
  /** The decoded query parameters, in order. */
  query: Array<[string, string]>;
  headers: IncomingHttpHeaders;
  /** Header name (lower case) -> every value received, in order. */
  headerValues: ReadonlyMap<string, readonly string[]>;
}

/** The canonical URIs a client may have signed: the path as sent, and its RFC 3986 form. */
export function canonicalUris(rawPath: string): string[] {
  const normalized = rawPath
    .split('/')
    .map((segment) => uriEncode(percentDecode(segment)))
    .join('/');
  return normalized === rawPath ? [rawPath] : [rawPath, normalized];
}

function payloadMode(value: string): PayloadMode {
  if (value === UNSIGNED_PAYLOAD) return { kind: 'unsigned' };
  if (value === STREAMING_SIGNED) return { kind: 'streaming-signed', trailer: false };
  if (value === STREAMING_SIGNED_TRAILER) return { kind: 'streaming-signed', trailer: true };
  if (value === STREAMING_UNSIGNED_TRAILER) return { kind: 'streaming-unsigned-trailer' };
  if (/^[0-9a-f]{64}$/.test(value)) return { kind: 'sha256', hex: value };
  throw new S3Error(
    'InvalidArgument',
    `x-amz-content-sha256 ${value} is not a payload mode S3 knows`,
  );
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the request carries a signature (an Authorization header or a presigned query). */
export function isSigned(request: Pick<SignedRequest, 'headers' | 'query'>): boolean {
  return (
    single(request.headers, 'authorization') !== undefined ||
    request.query.some(([n]) => n === 'X-Amz-Algorithm')
  );
}

/**
 * Verifies the signature (header or presigned form) and the time; returns the key and payload
 * mode, or throws the S3 error a client expects (InvalidAccessKeyId, SignatureDoesNotMatch,
 * RequestTimeTooSkewed, AccessDenied for an expired URL or no credentials).
 */
export async function verifySignature(
  request: SignedRequest,
  now: Date,
  lookup: (accessKeyId: string) => Promise<ActiveAccessKey | null>,
): Promise<Verified> {
  const authorization = single(request.headers, 'authorization');
  const presigned = request.query.some(([n]) => n === 'X-Amz-Algorithm');
  if (authorization === undefined && !presigned) {
    throw new S3Error('AccessDenied', 'Anonymous access is not allowed: sign the request (SigV4)');
  }
  let credentialText: string;
  let signedHeaders: string[];
  let signature: string;
  let amzDate: string;
  let payloadHash: string;
  let query = request.query;
  if (authorization !== undefined) {
    if (authorization.startsWith('AWS ')) {
      throw new S3Error(
        'InvalidRequest',
        'Signature Version 2 is not supported: use AWS4-HMAC-SHA256',
      );
    }
    const parsed = parseAuthorization(authorization);
    if (!parsed) {
      throw new S3Error('AuthorizationHeaderMalformed', 'the Authorization header is malformed');
    }
    credentialText = `${parsed.credential.accessKeyId}/${parsed.credential.scope.date}/${parsed.credential.scope.region}/${parsed.credential.scope.service}/aws4_request`;
    signedHeaders = parsed.signedHeaders;
    signature = parsed.signature;
    amzDate = single(request.headers, 'x-amz-date') ?? '';
    const hash = single(request.headers, 'x-amz-content-sha256');
    if (hash === undefined) {
      throw new S3Error(
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
      );
    }
    payloadHash = hash;
    const date = parseAmzDate(amzDate);
    if (!date) throw new S3Error('AccessDenied', 'x-amz-date is missing or malformed');
    if (Math.abs(date.getTime() - now.getTime()) > MAX_SKEW_MS) {
      throw new S3Error(
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
        {
          RequestTime: amzDate,
          ServerTime: now.toISOString(),
          MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
        },
      );
    }
  } else {
    const param = (name: string) => request.query.find(([n]) => n === name)?.[1];
    if (param('X-Amz-Algorithm') !== ALGORITHM) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        `X-Amz-Algorithm must be ${ALGORITHM}`,
      );
    }
    credentialText = param('X-Amz-Credential') ?? '';
    signedHeaders = (param('X-Amz-SignedHeaders') ?? '').split(';').filter((h) => h !== '');
    signature = param('X-Amz-Signature') ?? '';
    amzDate = param('X-Amz-Date') ?? '';
    const expiresText = param('X-Amz-Expires') ?? '';
    const date = parseAmzDate(amzDate);
    if (
      !date ||
      !/^\d{1,6}$/.test(expiresText) ||
      signedHeaders.length === 0 ||
      !/^[0-9a-f]{64}$/.test(signature)
    ) {
      throw new S3Error('AuthorizationQueryParametersError', 'the presigned URL is malformed');
    }
    const expires = Number(expiresText);
    if (expires < 1 || expires > MAX_PRESIGN_SECONDS) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        'X-Amz-Expires must be 1..604800 seconds',
      );
    }
    if (date.getTime() - now.getTime() > MAX_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed', 'the presigned URL is dated in the future');
    }
    if (now.getTime() > date.getTime() + expires * 1000) {
      throw new S3Error('AccessDenied', 'Request has expired', {
        Expires: new Date(date.getTime() + expires * 1000).toISOString(),
        ServerTime: now.toISOString(),
      });
    }
    payloadHash = single(request.headers, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
    query = request.query.filter(([n]) => n !== 'X-Amz-Signature');
  }
  const credential = parseCredential(credentialText);
  if (!credential) throw new S3Error('AuthorizationHeaderMalformed', 'the credential is malformed');
  if (credential.scope.service !== 's3' || !amzDate.startsWith(credential.scope.date)) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      'the credential scope must name service s3 and the date of x-amz-date',
    );
  }
  if (!signedHeaders.includes('host')) {
    throw new S3Error('AccessDenied', 'the host header must be signed');
  }
  const payload = payloadMode(payloadHash);
  if (presigned && payload.kind !== 'unsigned' && payload.kind !== 'sha256') {
    throw new S3Error('InvalidRequest', 'a presigned URL cannot carry a streaming payload');
  }
  const key = await lookup(credential.accessKeyId);
  if (!key) {
    throw new S3Error(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      {
        AWSAccessKeyId: credential.accessKeyId,
      },
    );
  }
  const kSigning = signingKey(key.secret, credential.scope);
  const matches = canonicalUris(request.rawPath).some((canonicalUri) => {
    const canonical = canonicalRequest({
      method: request.method,
      canonicalUri,
      query,
      headers: request.headerValues,
      signedHeaders,
      payloadHash,
    });
    return sameSignature(
      sign(kSigning, stringToSign(amzDate, credential.scope, canonical)),
      signature,
    );
  });
  if (!matches) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: credential.accessKeyId },
    );
  }
  return { key, payload, signingKey: kSigning, amzDate, scope: credential.scope, signature };
}
