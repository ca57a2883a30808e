import { describe, expect, it } from 'vitest';
import {
  generateApiKey,
  hashApiKey,
  looksLikeApiKey,
  parseApiKey,
  verifyApiKey,
} from './api-key-format';

const pepper = Buffer.alloc(32, 7);
const otherPepper = Buffer.alloc(32, 8);

describe('API key format', () => {
  it('generates nimbus_<prefix>_<secret> with a stored prefix and hash', () => {
    const { key, prefix, keyHash } = generateApiKey(pepper);
    expect(key).toMatch(/^nimbus_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$/);
    expect(parseApiKey(key)).toEqual({ prefix, secret: key.split('_')[2] });
    expect(keyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(keyHash).not.toContain(key.split('_')[2]);
    expect(verifyApiKey(key, keyHash, pepper)).toBe(true);
  });

  it('keys are random', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey(pepper).key));
    expect(keys.size).toBe(200);
  });

  it('a different secret, a tampered key or another pepper does not verify', () => {
    const { key, keyHash } = generateApiKey(pepper);
    const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect(verifyApiKey(tampered, keyHash, pepper)).toBe(false);
    expect(verifyApiKey(generateApiKey(pepper).key, keyHash, pepper)).toBe(false);
    expect(verifyApiKey(key, keyHash, otherPepper)).toBe(false);
    expect(hashApiKey(key, pepper)).toBe(keyHash);
  });

  it.each([
    'thecloud_abc',
    'nimbus_short_secret',
    'nimbus_AAAAAAAAAAAA_' + 'a'.repeat(31),
    'nimbus_AAAAAAAAAAAA_' + 'a'.repeat(31) + '-',
    'nimbus_AAAAAAAAAAA!_' + 'a'.repeat(32),
    'eyJhbGciOiJIUzI1NiJ9.e30.sig',
    '',
  ])('rejects %j', (presented) => {
    expect(parseApiKey(presented)).toBeNull();
  });

  it('tells API keys from JWTs', () => {
    expect(looksLikeApiKey(generateApiKey(pepper).key)).toBe(true);
    expect(looksLikeApiKey('eyJhbGciOiJIUzI1NiJ9.e30.sig')).toBe(false);
  });

  it('refuses a short pepper', () => {
    expect(() => generateApiKey(Buffer.alloc(8))).toThrow(/pepper/);
  });
});
