import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessTokens } from './access-tokens';

describe('AccessTokens', () => {
  const secret = new Uint8Array(randomBytes(32));
  const userId = '4b8e1f7a-0c3d-4e5f-8a9b-1c2d3e4f5a6b';

  it('round-trips and expires', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const tokens = new AccessTokens(secret, 15 * 60_000, () => now);
    const { token, expiresInSeconds } = await tokens.issue({ userId, sessionVersion: 3 });
    expect(expiresInSeconds).toBe(900);
    expect(await tokens.verify(token)).toEqual({ userId, sessionVersion: 3 });
    now = new Date(now.getTime() + 901_000);
    expect(await tokens.verify(token)).toBeNull();
  });

  it('refuses another algorithm, another secret and garbage', async () => {
    const now = () => new Date();
    const tokens = new AccessTokens(secret, 60_000, now);
    const hs512 = await new SignJWT({ sv: 1 })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject(userId)
      .setIssuer('nimbus')
      .setAudience('nimbus-api')
      .setExpirationTime('1m')
      .sign(new Uint8Array(randomBytes(64)));
    expect(await tokens.verify(hs512)).toBeNull();
    const other = await new AccessTokens(new Uint8Array(randomBytes(32)), 60_000, now).issue({
      userId,
      sessionVersion: 1,
    });
    expect(await tokens.verify(other.token)).toBeNull();
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: userId, sv: 1, iss: 'nimbus', aud: 'nimbus-api', exp: 9e9 }),
    ).toString('base64url')}.`;
    expect(await tokens.verify(unsigned)).toBeNull();
    expect(await tokens.verify('not-a-jwt')).toBeNull();
  });
});
