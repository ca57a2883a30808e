/**
 * Password hashing with scrypt (memory-hard, from node:crypto), encoded with its parameters and
 * salt so that the cost can be raised later without invalidating stored hashes:
 *
 *   $scrypt$ln=15,r=8,p=1$<salt base64url>$<hash base64url>
 *
 * `verifyPassword` recomputes with the stored parameters and compares in constant time;
 * `needsRehash` tells the login handler to store a fresh hash when the parameters changed;
 * `verifyPasswordForUnknownUser` spends the same time as a real verify so that an unknown email
 * and a wrong password cannot be told apart by timing.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  logN: number;
  r: number;
  p: number;
}

/** N = 2^15, r = 8, p = 1: 32 MiB and about 80 ms per hash on our machines. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { logN: 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
// Upper bounds on parameters read back from a stored hash, so a corrupted or crafted hash cannot
// make one verify allocate gigabytes.
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 16;

const ENCODED_RE =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function scryptAsync(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    // scrypt needs 128 * N * r * p bytes; leave headroom above that.
    maxmem: 128 * N * params.r * params.p + 16 * 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, HASH_BYTES, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function checkParams(params: ScryptParams): void {
  const ok =
    Number.isInteger(params.logN) &&
    params.logN >= 10 &&
    params.logN <= MAX_LOG_N &&
    Number.isInteger(params.r) &&
    params.r >= 1 &&
    params.r <= MAX_R &&
    Number.isInteger(params.p) &&
    params.p >= 1 &&
    params.p <= MAX_P;
  if (!ok) throw new Error(`unsupported scrypt parameters ${JSON.stringify(params)}`);
}

export function parsePasswordHash(encoded: string): ParsedHash | null {
  const m = ENCODED_RE.exec(encoded);
  if (!m) return null;
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  try {
    checkParams(params);
  } catch {
    return null;
  }
  const salt = Buffer.from(m[4], 'base64url');
  const hash = Buffer.from(m[5], 'base64url');
  if (salt.length < 8 || hash.length !== HASH_BYTES) return null;
  return { params, salt, hash };
}

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, params);
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** True when `password` matches `encoded`. A malformed stored hash verifies as false. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  if (!parsed) {
    await verifyPasswordForUnknownUser(password);
    return false;
  }
  const candidate = await scryptAsync(password, parsed.salt, parsed.params);
  return timingSafeEqual(candidate, parsed.hash);
}

/** True when the stored hash was made with other parameters than `current`: rehash on login. */
export function needsRehash(
  encoded: string,
  current: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): boolean {
  const parsed = parsePasswordHash(encoded);
  if (!parsed) return true;
  const { logN, r, p } = parsed.params;
  return logN !== current.logN || r !== current.r || p !== current.p;
}

const dummyHashes = new Map<string, Promise<string>>();

/**
 * Does the work of one verify and answers false: call it when the email is unknown (or the
 * account erased) so the response takes as long as a wrong password.
 */
export async function verifyPasswordForUnknownUser(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<false> {
  const key = `${params.logN},${params.r},${params.p}`;
  let dummy = dummyHashes.get(key);
  if (!dummy) {
    dummy = hashPassword(randomBytes(24).toString('base64url'), params);
    dummyHashes.set(key, dummy);
  }
  const parsed = parsePasswordHash(await dummy);
  if (parsed) {
    const candidate = await scryptAsync(password, parsed.salt, parsed.params);
    timingSafeEqual(candidate, parsed.hash);
  }
  return false;
}
