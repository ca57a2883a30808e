/**
 * One delivery attempt over HTTP(S): resolve the host once, check every address against the
 * target policy, connect to the checked address (no second resolution), never follow redirects.
 */
import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkWebhookTarget, literalAddress, parseWebhookUrl, type TargetVerdict } from './domain';

export interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  retryAfter: string | null;
  /** True when the target was refused before any connection. */
  refused: boolean;
}

/** Resolves and checks a URL; `ok` carries the addresses that may be connected to. */
export async function resolveTarget(
  url: string,
  allowPrivateTargets: boolean,
): Promise<TargetVerdict> {
  const parsed = parseWebhookUrl(url);
  if (!parsed.ok) return parsed;
  let resolved: string[] = [];
  if (!literalAddress(parsed.url)) {
    try {
      resolved = (await lookup(parsed.url.hostname, { all: true, verbatim: true })).map(
        (a) => a.address,
      );
    } catch {
      resolved = [];
    }
  }
  return checkWebhookTarget({ url, resolvedAddresses: resolved, allowPrivateTargets });
}

export async function postOnce(args: {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivateTargets: boolean;
}): Promise<AttemptResult> {
  const target = await resolveTarget(args.url, args.allowPrivateTargets);
  if (!target.ok) {
    return {
      statusCode: null,
      error: `refused: ${target.message}`,
      retryAfter: null,
      refused: true,
    };
  }
  const url = target.url;
  const address = target.addresses[0];
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<AttemptResult>((resolve) => {
    const req = request(
      {
        host: address,
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        servername: url.hostname,
        headers: {
          ...args.headers,
          Host: url.host,
          'Content-Length': String(Buffer.byteLength(args.body)),
          'User-Agent': 'Nimbus-Webhooks/1',
        },
        timeout: args.timeoutMs,
      },
      (res) => {
        res.resume(); // the body does not matter; drain it
        res.on('end', () =>
          resolve({
            statusCode: res.statusCode ?? null,
            error: null,
            retryAfter: res.headers['retry-after'] ?? null,
            refused: false,
          }),
        );
        res.on('error', (err) =>
          resolve({
            statusCode: res.statusCode ?? null,
            error: err.message,
            retryAfter: null,
            refused: false,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${args.timeoutMs} ms`)));
    req.on('error', (err) =>
      resolve({ statusCode: null, error: err.message, retryAfter: null, refused: false }),
    );
    req.end(args.body);
  });
}
