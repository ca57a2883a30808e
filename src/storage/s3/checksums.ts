/**
 * The additional checksums of S3 (`x-amz-checksum-<algorithm>`, in headers or trailers): CRC32,
 * CRC32C, CRC64/NVME, SHA-1, SHA-256, each the base64 of the big-endian digest. Computed while
 * the bytes stream by (`ChecksumHasher`); CRC32 is zlib's, the other CRCs are table-driven here.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export function isChecksumAlgorithm(value: string): value is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(value);
}

/** Digest length in bytes of each algorithm (a header of another length is malformed). */
export const CHECKSUM_BYTES: Record<ChecksumAlgorithm, number> = {
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
};

export interface ChecksumHasher {
  update(chunk: Buffer): void;
  /** base64 of the big-endian digest. */
  digest(): string;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

const CRC64_POLY = 0x9a6c9329ac4bc9b5n;
const CRC64_TABLE = (() => {
  const table = new BigUint64Array(256);
  for (let n = 0n; n < 256n; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ CRC64_POLY : c >> 1n;
    table[Number(n)] = c;
  }
  return table;
})();

/** CRC64/NVME on two 32-bit halves (BigInt per byte would be slow on large objects). */
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  CRC64_HI[i] = Number(CRC64_TABLE[i] >> 32n);
  CRC64_LO[i] = Number(CRC64_TABLE[i] & 0xffffffffn);
}

class Crc32Hasher implements ChecksumHasher {
  private value = 0;
  update(chunk: Buffer): void {
    this.value = crc32(chunk, this.value);
  }
  digest(): string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.value >>> 0);
    return out.toString('base64');
  }
}

class Crc32cHasher implements ChecksumHasher {
  private crc = 0xffffffff;
  update(chunk: Buffer): void {
    let c = this.crc;
    for (let i = 0; i < chunk.length; i++) c = CRC32C_TABLE[(c ^ chunk[i]) & 0xff] ^ (c >>> 8);
    this.crc = c;
  }
  digest(): string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE((this.crc ^ 0xffffffff) >>> 0);
    return out.toString('base64');
  }
}

class Crc64NvmeHasher implements ChecksumHasher {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(chunk: Buffer): void {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < chunk.length; i++) {
      const index = (lo ^ chunk[i]) & 0xff;
      // crc = table[index] ^ (crc >> 8), on (hi, lo) halves
      const shiftedLo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
      const shiftedHi = hi >>> 8;
      lo = (CRC64_LO[index] ^ shiftedLo) >>> 0;
      hi = (CRC64_HI[index] ^ shiftedHi) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
  }
  digest(): string {
    const out = Buffer.alloc(8);
    out.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return out.toString('base64');
  }
}

class CryptoHasher implements ChecksumHasher {
  private readonly hash: Hash;
  constructor(algorithm: 'sha1' | 'sha256') {
    this.hash = createHash(algorithm);
  }
  update(chunk: Buffer): void {
    this.hash.update(chunk);
  }
  digest(): string {
    return this.hash.digest('base64');
  }
}

export function checksumHasher(algorithm: ChecksumAlgorithm): ChecksumHasher {
  switch (algorithm) {
    case 'crc32':
      return new Crc32Hasher();
    case 'crc32c':
      return new Crc32cHasher();
    case 'crc64nvme':
      return new Crc64NvmeHasher();
    case 'sha1':
    case 'sha256':
      return new CryptoHasher(algorithm);
  }
}

export function checksumOf(algorithm: ChecksumAlgorithm, data: Buffer): string {
  const h = checksumHasher(algorithm);
  h.update(data);
  return h.digest();
}

/** A well-formed base64 digest of the algorithm's length. */
export function isWellFormedChecksum(algorithm: ChecksumAlgorithm, value: string): boolean {
  return (
    /^[A-Za-z0-9+/]+={0,2}$/.test(value) &&
    Buffer.from(value, 'base64').length === CHECKSUM_BYTES[algorithm]
  );
}
