/**
 * SigV4 as the AWS specification defines it: the documented S3 examples (GET Object, the chunked
 * PUT Object with its seed and chunk signatures) and the canonical-request traps.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { AwsChunkedDecoder } from './aws-chunked';
import { checksumOf } from './checksums';
import { canonicalUris } from './s3-auth';
import {
  canonicalQuery,
  canonicalRequest,
  chunkStringToSign,
  parseAuthorization,
  parseQuery,
  sign,
  signingKey,
  stringToSign,
  trailerStringToSign,
  uriEncode,
  type Scope,
} from './sigv4';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DATE = '20130524T000000Z';
const SCOPE: Scope = { date: '20130524', region: 'us-east-1', service: 's3' };
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const headers = (h: Record<string, string>) =>
  new Map(Object.entries(h).map(([k, v]) => [k, [v]] as [string, string[]]));

describe('SigV4 canonical query string: the traps', () => {
  it.each([
    ['valueless ?uploads', 'uploads', 'uploads='],
    ['sorted by name then value', 'b=2&a=1&a=0', 'a=0&a=1&b=2'],
    ['/ in a value is %2F', 'prefix=a/b/', 'prefix=a%2Fb%2F'],
    ['space (%20 or +) is %20', 'prefix=a%20b&x=c+d', 'prefix=a%20b&x=c%20d'],
    ["!'()* are percent-encoded", "k=!'()*", 'k=%21%27%28%29%2A'],
    ['encoded !*() stay encoded', 'k=%21%2A%28%29', 'k=%21%2A%28%29'],
    ['~ - _ . stay as they are', 'k=a~b-c_d.e', 'k=a~b-c_d.e'],
    ['unicode is UTF-8 percent-encoded', 'k=%C3%A9', 'k=%C3%A9'],
    ['= inside a value', 'k=a%3Db', 'k=a%3Db'],
    ['lower-case escapes become upper-case', 'k=a%2fb', 'k=a%2Fb'],
    [
      'list-type and continuation token',
      'list-type=2&continuation-token=ab%2Bc%3D',
      'continuation-token=ab%2Bc%3D&list-type=2',
    ],
  ])('%s', (_label, raw, expected) => {
    expect(canonicalQuery(parseQuery(raw))).toBe(expected);
  });

  it('encodes a path keeping its slashes', () => {
    expect(uriEncode("a b/c!'()*~", true)).toBe('a%20b/c%21%27%28%29%2A~');
    expect(canonicalUris('/bucket/a%20b')).toEqual(['/bucket/a%20b']);
    // A client that left `!` raw but signed its encoded form is matched too.
    expect(canonicalUris('/bucket/a!b')).toEqual(['/bucket/a!b', '/bucket/a%21b']);
  });

  it('the Host header is signed with its port; header values are trimmed and folded', () => {
    const canonical = canonicalRequest({
      method: 'GET',
      canonicalUri: '/',
      query: [],
      headers: headers({ host: '127.0.0.1:9000', 'x-amz-meta-a': '  two   spaces  ' }),
      signedHeaders: ['host', 'x-amz-meta-a'],
      payloadHash: EMPTY,
    });
    expect(canonical).toBe(
      `GET\n/\n\nhost:127.0.0.1:9000\nx-amz-meta-a:two spaces\n\nhost;x-amz-meta-a\n${EMPTY}`,
    );
  });
});

describe('SigV4: the documented examples', () => {
  it('GET Object with a Range (header form)', () => {
    const canonical = canonicalRequest({
      method: 'GET',
      canonicalUri: '/test.txt',
      query: [],
      headers: headers({
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': EMPTY,
        'x-amz-date': DATE,
      }),
      signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'],
      payloadHash: EMPTY,
    });
    const signature = sign(signingKey(SECRET, SCOPE), stringToSign(DATE, SCOPE, canonical));
    expect(signature).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('GET Bucket lifecycle (a valueless parameter)', () => {
    const canonical = canonicalRequest({
      method: 'GET',
      canonicalUri: '/',
      query: parseQuery('lifecycle'),
      headers: headers({
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': EMPTY,
        'x-amz-date': DATE,
      }),
      signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'],
      payloadHash: EMPTY,
    });
    const signature = sign(signingKey(SECRET, SCOPE), stringToSign(DATE, SCOPE, canonical));
    expect(signature).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  });

  it('parses the Authorization header', () => {
    const parsed = parseAuthorization(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024',
    );
    expect(parsed?.credential).toEqual({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', scope: SCOPE });
    expect(parsed?.signedHeaders).toEqual(['host', 'range', 'x-amz-date']);
    expect(parseAuthorization('AWS AKIA:abc')).toBeNull();
  });
});

/** Builds a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body the way a client does. */
function signedChunks(
  seed: string,
  chunks: Buffer[],
  key: Buffer,
  trailer?: Array<[string, string]>,
) {
  let previous = seed;
  const parts: Buffer[] = [];
  for (const data of [...chunks, Buffer.alloc(0)]) {
    const hash = createHash('sha256').update(data).digest('hex');
    const signature = sign(key, chunkStringToSign(DATE, SCOPE, previous, hash));
    parts.push(Buffer.from(`${data.length.toString(16)};chunk-signature=${signature}\r\n`), data);
    if (data.length > 0 || !trailer) parts.push(Buffer.from('\r\n'));
    previous = signature;
  }
  if (trailer) {
    const signature = sign(key, trailerStringToSign(DATE, SCOPE, previous, trailer));
    parts.push(
      Buffer.from(
        `${trailer.map(([n, v]) => `${n}:${v}\r\n`).join('')}x-amz-trailer-signature:${signature}\r\n\r\n`,
      ),
    );
  }
  return Buffer.concat(parts);
}

async function decode(body: Buffer, decoder: AwsChunkedDecoder, pieces = 7): Promise<Buffer> {
  // Split the body at awkward places: frames never arrive whole.
  const slices: Buffer[] = [];
  const step = Math.max(1, Math.ceil(body.length / pieces));
  for (let i = 0; i < body.length; i += step) slices.push(body.subarray(i, i + step));
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(slices).pipe(decoder)) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

describe('aws-chunked: chunk signatures and trailers', () => {
  const key = signingKey(SECRET, SCOPE);
  const seed = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';

  it('the documented chunk signatures of the 66560-byte PUT Object example', () => {
    const first = Buffer.alloc(65536, 'a');
    const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const s1 = sign(key, chunkStringToSign(DATE, SCOPE, seed, hash(first)));
    expect(s1).toBe('ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
    const s2 = sign(key, chunkStringToSign(DATE, SCOPE, s1, hash(Buffer.alloc(1024, 'a'))));
    expect(s2).toBe('0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
    const s3 = sign(key, chunkStringToSign(DATE, SCOPE, s2, EMPTY));
    expect(s3).toBe('b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9');
  });

  it('decodes and verifies signed chunks, split anywhere', async () => {
    const data = [Buffer.alloc(65536, 'a'), Buffer.alloc(1024, 'a')];
    const body = signedChunks(seed, data, key);
    const signing = { key, amzDate: DATE, scope: SCOPE, seedSignature: seed };
    const out = await decode(
      body,
      new AwsChunkedDecoder({ signing, trailer: false, decodedLength: 66560 }),
      13,
    );
    expect(out.equals(Buffer.concat(data))).toBe(true);
  });

  it('refuses a chunk whose bytes were changed, or chunks reordered', async () => {
    const data = [Buffer.alloc(100, 'a'), Buffer.alloc(50, 'b')];
    const signing = { key, amzDate: DATE, scope: SCOPE, seedSignature: seed };
    const body = signedChunks(seed, data, key);
    const tampered = Buffer.from(body);
    tampered[body.indexOf('aaaa')] = 'z'.charCodeAt(0);
    await expect(
      decode(tampered, new AwsChunkedDecoder({ signing, trailer: false, decodedLength: null })),
    ).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
    const reordered = signedChunks(seed, [data[1], data[0]], key);
    await expect(
      decode(
        reordered,
        new AwsChunkedDecoder({
          signing: { ...signing, seedSignature: 'f'.repeat(64) },
          trailer: false,
          decodedLength: null,
        }),
      ),
    ).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
  });

  it('a signed trailer is verified; a changed trailer value is refused', async () => {
    const data = [Buffer.from('hello world')];
    const crc = checksumOf('crc32', data[0]);
    const signing = { key, amzDate: DATE, scope: SCOPE, seedSignature: seed };
    const body = signedChunks(seed, data, key, [['x-amz-checksum-crc32', crc]]);
    const decoder = new AwsChunkedDecoder({ signing, trailer: true, decodedLength: 11 });
    expect((await decode(body, decoder)).toString()).toBe('hello world');
    expect(decoder.trailers.get('x-amz-checksum-crc32')).toBe(crc);
    const forged = Buffer.from(body.toString('latin1').replace(crc, 'AAAAAA=='), 'latin1');
    await expect(
      decode(forged, new AwsChunkedDecoder({ signing, trailer: true, decodedLength: 11 })),
    ).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
  });

  it('an unsigned trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER) is read; a short body is refused', async () => {
    const body = Buffer.from(
      '5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32c:yZRlqg==\r\n\r\n',
    );
    const decoder = new AwsChunkedDecoder({ signing: null, trailer: true, decodedLength: 11 });
    expect((await decode(body, decoder, 5)).toString()).toBe('hello world');
    expect(decoder.trailers.get('x-amz-checksum-crc32c')).toBe('yZRlqg==');
    await expect(
      decode(
        Buffer.from('5\r\nhello\r\n'),
        new AwsChunkedDecoder({ signing: null, trailer: true, decodedLength: null }),
      ),
    ).rejects.toMatchObject({ code: 'IncompleteBody' });
    await expect(
      decode(body, new AwsChunkedDecoder({ signing: null, trailer: true, decodedLength: 12 })),
    ).rejects.toMatchObject({ code: 'IncompleteBody' });
  });
});

describe('checksums', () => {
  it.each([
    ['crc32', 'cbf43926'],
    ['crc32c', 'e3069283'],
    ['crc64nvme', 'ae8b14860a799888'],
    ['sha1', 'f7c3bc1d808e04732adf679965ccc34ca7ae3441'],
  ] as const)('%s of "123456789"', (algorithm, hex) => {
    expect(
      Buffer.from(checksumOf(algorithm, Buffer.from('123456789')), 'base64').toString('hex'),
    ).toBe(hex);
  });
  it('crc32c of "hello world" is the trailer value used above', () => {
    expect(checksumOf('crc32c', Buffer.from('hello world'))).toBe('yZRlqg==');
  });
});
