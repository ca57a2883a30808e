import { describe, expect, it } from 'vitest';
import {
  DecryptionError,
  ERASED,
  decryptPersonalField,
  emailLookupHash,
  encryptPersonalField,
  generateDataKey,
  needsRewrap,
  revealPersonalField,
  unwrapDataKey,
  wrapDataKey,
  type MasterKeyring,
} from './personal-data';

const alice = { subjectId: 'user-alice', field: 'email' };
const ring: MasterKeyring = { current: { id: 'mk-1', key: Buffer.alloc(32, 1) } };

function flipLastCharOfPart(value: string, partIndex: number): string {
  const parts = value.split('.');
  const part = parts[partIndex];
  parts[partIndex] = part.slice(0, -2) + (part.at(-2) === 'A' ? 'B' : 'A') + part.slice(-1);
  return parts.join('.');
}

describe('personal data encryption', () => {
  it('round-trips a field; ciphertexts are randomised', () => {
    const key = generateDataKey();
    const a = encryptPersonalField(key, 'ada@example.com', alice);
    const b = encryptPersonalField(key, 'ada@example.com', alice);
    expect(a).toMatch(/^pii1\./);
    expect(a).not.toBe(b);
    expect(a).not.toContain('ada');
    expect(decryptPersonalField(key, a, alice)).toBe('ada@example.com');
  });

  it('tampered ciphertext, tag or iv fails', () => {
    const key = generateDataKey();
    const field = encryptPersonalField(key, 'Ada Lovelace', alice);
    for (const part of [1, 2, 3]) {
      expect(() => decryptPersonalField(key, flipLastCharOfPart(field, part), alice)).toThrow(
        DecryptionError,
      );
    }
    expect(() => decryptPersonalField(key, 'pii1.x.y', alice)).toThrow(DecryptionError);
  });

  it('a ciphertext moved to another user or field, or read with another key, fails', () => {
    const key = generateDataKey();
    const field = encryptPersonalField(key, 'ada@example.com', alice);
    expect(() => decryptPersonalField(key, field, { ...alice, subjectId: 'user-bob' })).toThrow(
      DecryptionError,
    );
    expect(() => decryptPersonalField(key, field, { ...alice, field: 'name' })).toThrow(
      DecryptionError,
    );
    expect(() => decryptPersonalField(generateDataKey(), field, alice)).toThrow(DecryptionError);
  });

  it('renders [erased] once the data key is gone', () => {
    const key = generateDataKey();
    const field = encryptPersonalField(key, 'ada@example.com', alice);
    expect(revealPersonalField(key, field, alice)).toBe('ada@example.com');
    expect(revealPersonalField(null, field, alice)).toBe(ERASED);
    expect(ERASED).toBe('[erased]');
  });

  it('wraps data keys under the master key, bound to the subject', () => {
    const key = generateDataKey();
    const wrapped = wrapDataKey(ring, 'user-alice', key);
    expect(wrapped).toMatch(/^dk1\.mk-1\./);
    expect(unwrapDataKey(ring, 'user-alice', wrapped).equals(key)).toBe(true);
    expect(() => unwrapDataKey(ring, 'user-bob', wrapped)).toThrow(DecryptionError);
    expect(() => unwrapDataKey(ring, 'user-alice', flipLastCharOfPart(wrapped, 3))).toThrow(
      DecryptionError,
    );
    const wrongMaster: MasterKeyring = { current: { id: 'mk-1', key: Buffer.alloc(32, 2) } };
    expect(() => unwrapDataKey(wrongMaster, 'user-alice', wrapped)).toThrow(DecryptionError);
  });

  it('rotated master keys still unwrap old wraps and flag them for rewrap', () => {
    const key = generateDataKey();
    const wrapped = wrapDataKey(ring, 'user-alice', key);
    const rotated: MasterKeyring = {
      current: { id: 'mk-2', key: Buffer.alloc(32, 3) },
      previous: [ring.current],
    };
    expect(unwrapDataKey(rotated, 'user-alice', wrapped).equals(key)).toBe(true);
    expect(needsRewrap(rotated, wrapped)).toBe(true);
    expect(needsRewrap(rotated, wrapDataKey(rotated, 'user-alice', key))).toBe(false);
    expect(() => unwrapDataKey({ current: rotated.current }, 'user-alice', wrapped)).toThrow(
      /unknown master key/,
    );
  });

  it('refuses keys of the wrong size', () => {
    expect(() => encryptPersonalField(Buffer.alloc(16), 'x', alice)).toThrow(/32 bytes/);
    expect(() =>
      wrapDataKey({ current: { id: 'mk', key: Buffer.alloc(16) } }, 's', generateDataKey()),
    ).toThrow(/32 bytes/);
  });

  it('email lookup hashes are deterministic per pepper and hide the email', () => {
    const pepper = Buffer.alloc(32, 9);
    const h = emailLookupHash('ada@example.com', pepper);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(emailLookupHash('ada@example.com', pepper)).toBe(h);
    expect(emailLookupHash('ada@example.com', Buffer.alloc(32, 10))).not.toBe(h);
    expect(emailLookupHash('bob@example.com', pepper)).not.toBe(h);
  });
});
