import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthRateLimits } from '../../src/identity/auth/auth-rate-limits';
import { Clock } from '../../src/platform/clock';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, eventsOfType, uniqueEmail } from './identity.helpers';

describe('rate limits and expiry, with the identity clock moved instead of sleeping (e2e)', () => {
  let t: TestApp;
  let clock: Clock;

  beforeAll(async () => {
    // The defaults: 5 auth calls per minute per IP; a small API limit to see it bite.
    t = await startTestApp({ label: 'ratelimit', config: { apiRateLimitPerMinute: 30 } });
    clock = t.app.get(Clock);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the 6th auth call in a minute is 429 rate_limited with Retry-After and X-RateLimit-*', async () => {
    t.app.get(AuthRateLimits).clear();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await t
        .http()
        .post('/auth/forgot-password')
        .send({ email: uniqueEmail('rl') });
      statuses.push(last.status);
      if (i < 5) {
        expect(last.headers['x-ratelimit-limit']).toBe('5');
        expect(last.headers['x-ratelimit-remaining']).toBe(String(4 - i));
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(last?.body.error.code).toBe('rate_limited');
    expect(last?.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(last?.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(last?.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(last?.headers['x-ratelimit-reset'])).toBeGreaterThan(clock.nowMs() / 1000);
    // Other auth routes share the budget.
    expect(
      (await t.http().post('/auth/login').send({ email: 'a@b.co', password: 'x' })).status,
    ).toBe(429);

    clock.advance(60_000);
    expect(
      (
        await t
          .http()
          .post('/auth/forgot-password')
          .send({ email: uniqueEmail('rl') })
      ).status,
    ).toBe(200);
  });

  it('the per-key API limit answers 429 and records the denial', async () => {
    const limits = t.app.get(AuthRateLimits);
    limits.clear();
    const email = uniqueEmail('api');
    const password = 'correct-horse-7-battery';
    expect(
      (await t.http().post('/auth/register').send({ email, password, name: 'A' })).status,
    ).toBe(201);
    const signIn = await t.http().post('/auth/login').send({ email, password });
    expect(signIn.status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      statuses.push((await t.http().get('/me').set(bearer(signIn.body.access_token))).status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses[30]).toBe(429);
    const denials = await eventsOfType(t, 'AccessDenied');
    expect(denials.some((d) => d.data.status === 429 && d.data.path === '/me')).toBe(true);
    clock.advance(60_000);
    expect((await t.http().get('/me').set(bearer(signIn.body.access_token))).status).toBe(200);
  });

  it('keys expire: a key with expires_at, and the session key after NIMBUS_SESSION_KEY_TTL', async () => {
    t.app.get(AuthRateLimits).clear();
    const email = uniqueEmail('expiry');
    const password = 'correct-horse-7-battery';
    expect(
      (await t.http().post('/auth/register').send({ email, password, name: 'E' })).status,
    ).toBe(201);
    const signIn = await t.http().post('/auth/login').send({ email, password });
    const sessionKey = signIn.body.api_key as string;
    const expiresAt = new Date(clock.nowMs() + 3_600_000).toISOString();
    const created = await t
      .http()
      .post('/auth/keys')
      .set(bearer(signIn.body.access_token))
      .send({ name: 'one hour', expires_at: expiresAt });
    expect(created.status).toBe(201);
    expect(created.body.expires_at).toBe(expiresAt);
    expect((await t.http().get('/me').set('x-api-key', created.body.key)).status).toBe(200);

    clock.advance(3_600_000);
    const expired = await t.http().get('/me').set('x-api-key', created.body.key);
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toContain('expired');
    // The access token (15 min) is over too; the session key lives 30 days.
    expect((await t.http().get('/me').set(bearer(signIn.body.access_token))).status).toBe(401);
    const listed = await t.http().get('/auth/keys').set('x-api-key', sessionKey);
    expect(listed.status).toBe(200);
    expect(listed.body.map((k: { id: string }) => k.id)).not.toContain(created.body.id);

    clock.advance(30 * 24 * 3_600_000);
    expect((await t.http().get('/me').set('x-api-key', sessionKey)).status).toBe(401);
  });
});
