import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { classifyAddress, parseIp } from '../../webhooks/domain/url-safety';

export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

export class ImportTargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportTargetRefused';
  }
}

/**
 * Resolves the URL's host and refuses private, loopback and other non-public addresses unless
 * `allowPrivate` (server-side request forgery guard). Every address the name resolves to must
 * pass; the download then connects to the checked address (pinned), never resolving again.
 */
export async function checkImportTarget(
  text: string,
  allowPrivate: boolean,
): Promise<CheckedTarget> {
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ImportTargetRefused('the URL must use http or https');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = parseIp(host);
  const addresses = literal
    ? [{ address: host, family: literal.version }]
    : (await lookup(host, { all: true })).map((a) => ({
        address: a.address,
        family: a.family as 4 | 6,
      }));
  if (addresses.length === 0) throw new ImportTargetRefused(`${host} does not resolve`);
  for (const { address } of addresses) {
    const cls = classifyAddress(address);
    if (cls !== 'public' && !allowPrivate) {
      throw new ImportTargetRefused(
        `image imports from ${cls.replace('_', '-')} addresses are not allowed (${address})`,
      );
    }
  }
  return { url, address: addresses[0].address, family: addresses[0].family };
}

const DOWNLOAD_TIMEOUT_MS = 120_000;

/** GETs the checked target (no redirects) and resolves with the response body stream. */
export function download(target: CheckedTarget, signal?: AbortSignal): Promise<Readable> {
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(
        null,
        [{ address: target.address, family: target.family }],
      );
    } else {
      callback(null, target.address, target.family);
    }
  };
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(
      target.url,
      { lookup: pinned, timeout: DOWNLOAD_TIMEOUT_MS, signal },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          response.resume();
          reject(
            new Error(
              status >= 300 && status < 400
                ? `the server answered ${status} (redirects are not followed)`
                : `the server answered ${status}`,
            ),
          );
          return;
        }
        resolve(response);
      },
    );
    request.on('timeout', () => request.destroy(new Error('the download timed out')));
    request.on('error', reject);
  });
}
