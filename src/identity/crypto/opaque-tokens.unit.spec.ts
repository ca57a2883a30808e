import { describe, expect, it } from 'vitest';
import {
  generateOpaqueToken,
  hashOpaqueToken,
  opaqueTokenMatches,
  parseOpaqueToken,
} from './opaque-tokens';

const userId = '0b6f3a3e-2d7c-4c1e-9f5e-1a2b3c4d5e6f';

describe('opaque tokens', () => {
  it('carry the subject, store only a hash, and verify', () => {
    const { token, tokenHash } = generateOpaqueToken('refresh', userId);
    expect(token).toMatch(/^nimbus_rt_0b6f3a3e2d7c4c1e9f5e1a2b3c4d5e6f_[0-9A-Za-z]{43}$/);
    expect(tokenHash).toBe(hashOpaqueToken(token));
    expect(parseOpaqueToken('refresh', token)).toEqual({ subjectId: userId });
    expect(opaqueTokenMatches(token, tokenHash)).toBe(true);
    expect(opaqueTokenMatches(generateOpaqueToken('refresh', userId).token, tokenHash)).toBe(false);
  });

  it('kinds do not mix', () => {
    const reset = generateOpaqueToken('reset', userId).token;
    expect(reset.startsWith('nimbus_rst_')).toBe(true);
    expect(parseOpaqueToken('refresh', reset)).toBeNull();
    expect(parseOpaqueToken('reset', reset)).toEqual({ subjectId: userId });
  });

  it.each(['', 'nimbus_rt_xyz_abc', `nimbus_rt_${'0'.repeat(32)}_short`, 'reset-token-from-email'])(
    'rejects %j',
    (token) => {
      expect(parseOpaqueToken('refresh', token)).toBeNull();
    },
  );

  it('requires UUID subjects', () => {
    expect(() => generateOpaqueToken('reset', 'not-a-uuid')).toThrow(/UUID/);
  });
});
