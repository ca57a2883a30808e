import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthRateLimits } from '../../src/identity/auth/auth-rate-limits';
import { Clock } from '../../src/platform/clock';
import { startTestApp, type TestApp } from '../support/app';
import { refusedWith, sdkFor, unwrap, type NimbusClient } from '../support/sdk';
import { eventsOfType, uniqueEmail } from './identity.helpers';

describe('rate limits and expiry, with the identity clock moved instead of sleeping (e2e)', () => {
  let t: TestApp;
  let clock: Clock;
  let anonymous: NimbusClient;
  const password = 'correct-horse-7-battery';

  /** Registers and signs in; the session's tokens and key. */
  async function signIn(label: string) {
    const email = uniqueEmail(label);
    unwrap(await anonymous.POST('/auth/register', { body: { email, password, name: label } }));
    const session = unwrap(await anonymous.POST('/auth/login', { body: { email, password } }));
    return { ...session, asUser: sdkFor(t, { token: session.access_token }) };
  }

  beforeAll(async () => {
    // The defaults: 5 auth calls per minute per IP; a small API limit to see it bite.
    t = await startTestApp({ label: 'ratelimit', config: { apiRateLimitPerMinute: 30 } });
    clock = t.app.get(Clock);
    anonymous = sdkFor(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the 6th auth call in a minute is 429 rate_limited with Retry-After and X-RateLimit-*', async () => {
    t.app.get(AuthRateLimits).clear();
    const forgot = () =>
      anonymous.POST('/auth/forgot-password', { body: { email: uniqueEmail('rl') } });
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof forgot>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await forgot();
      const headers = last.response.headers;
      statuses.push(last.response.status);
      if (i < 5) {
        expect(headers.get('x-ratelimit-limit')).toBe('5');
        expect(headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    if (!last) throw new Error('no answer');
    refusedWith(last, 429, 'rate_limited');
    const headers = last.response.headers;
    expect(headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(headers.get('x-ratelimit-reset'))).toBeGreaterThan(clock.nowMs() / 1000);
    // Other auth routes share the budget.
    refusedWith(
      await anonymous.POST('/auth/login', { body: { email: 'a@b.co', password: 'x' } }),
      429,
      'rate_limited',
    );

    clock.advance(60_000);
    unwrap(await forgot());
  });

  it('the per-key API limit answers 429 and records the denial', async () => {
    const limits = t.app.get(AuthRateLimits);
    limits.clear();
    const { asUser } = await signIn('api');
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      statuses.push((await asUser.GET('/me')).response.status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses[30]).toBe(429);
    const denials = await eventsOfType(t, 'AccessDenied');
    expect(denials.some((d) => d.data.status === 429 && d.data.path === '/me')).toBe(true);
    clock.advance(60_000);
    unwrap(await asUser.GET('/me'));
  });

  it('keys expire: a key with expires_at, and the session key after NIMBUS_SESSION_KEY_TTL', async () => {
    t.app.get(AuthRateLimits).clear();
    const session = await signIn('expiry');
    if (!session.api_key) throw new Error('login returned no session key');
    const sessionKey = sdkFor(t, { apiKey: session.api_key });
    const expiresAt = new Date(clock.nowMs() + 3_600_000).toISOString();
    const created = unwrap(
      await session.asUser.POST('/auth/keys', {
        body: { name: 'one hour', expires_at: expiresAt },
      }),
    );
    expect(created.expires_at).toBe(expiresAt);
    const withKey = sdkFor(t, { apiKey: created.key });
    unwrap(await withKey.GET('/me'));

    clock.advance(3_600_000);
    const expired = refusedWith(await withKey.GET('/me'), 401, 'unauthorized');
    expect(expired.message).toContain('expired');
    // The access token (15 min) is over too; the session key lives 30 days.
    refusedWith(await session.asUser.GET('/me'), 401, 'unauthorized');
    const listed = unwrap(await sessionKey.GET('/auth/keys'));
    expect(listed.map((k) => k.id)).not.toContain(created.id);

    clock.advance(30 * 24 * 3_600_000);
    refusedWith(await sessionKey.GET('/me'), 401, 'unauthorized');
  });
});
