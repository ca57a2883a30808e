import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  needsRehash,
  parsePasswordHash,
  verifyPassword,
  verifyPasswordForUnknownUser,
  type ScryptParams,
} from './password-hashing';

// Cheap parameters keep the suite fast; one test uses the defaults.
const cheap: ScryptParams = { logN: 10, r: 8, p: 1 };

describe('password hashing (scrypt)', () => {
  it('round-trips with the default parameters, encoded with params and salt', async () => {
    const encoded = await hashPassword('correct horse 42');
    expect(encoded).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse 42', encoded)).toBe(true);
    expect(await verifyPassword('correct horse 43', encoded)).toBe(false);
    expect(needsRehash(encoded)).toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    const a = await hashPassword('same password 1', cheap);
    const b = await hashPassword('same password 1', cheap);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password 1', a)).toBe(true);
    expect(await verifyPassword('same password 1', b)).toBe(true);
  });

  it('verifies hashes made with other parameters and flags them for rehash', async () => {
    const old = await hashPassword('legacy Password', cheap);
    expect(await verifyPassword('legacy Password', old)).toBe(true);
    expect(needsRehash(old, DEFAULT_SCRYPT_PARAMS)).toBe(true);
    expect(needsRehash(old, cheap)).toBe(false);
  });

  it('normalises Unicode (NFKC) so composed and decomposed forms match', async () => {
    const encoded = await hashPassword('caf\u00e9 au lait 1', cheap);
    expect(await verifyPassword('cafe\u0301 au lait 1', encoded)).toBe(true);
  });

  it('treats malformed or hostile stored hashes as a failed verify', async () => {
    expect(await verifyPassword('x', 'not a hash')).toBe(false);
    expect(
      await verifyPassword(
        'x',
        '$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ),
    ).toBe(false);
    expect(parsePasswordHash('$scrypt$ln=15,r=8,p=1$AAAA$AAAA')).toBeNull();
  });

  it('rejects unsupported parameters when hashing', async () => {
    await expect(hashPassword('x', { logN: 4, r: 8, p: 1 })).rejects.toThrow(/unsupported/);
  });

  it('the unknown-user verify always answers false', async () => {
    expect(await verifyPasswordForUnknownUser('anything at all', cheap)).toBe(false);
    expect(await verifyPasswordForUnknownUser('anything at all', cheap)).toBe(false);
  });
});
