/**
 * The account routes closed after the first identity pass: POST /me/password, PATCH and DELETE
 * /tenants/:id/members/:userId, and logout ending the session API key with the refresh family.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import {
  PASSWORD,
  bearer,
  countEvents,
  eventsOfType,
  login,
  signUp,
  type Account,
} from './identity.helpers';

const NEW_PASSWORD = 'brand-new-horse-42';
const IGNORED = ['AccessDenied'];

describe('identity account routes (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      label: 'identity_account',
      config: { authRateLimitPerMinute: 10_000 },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const me = (headers: Record<string, string>) => conformingHttp(t).get('/me').set(headers);
  const refresh = (token: string) =>
    conformingHttp(t).post('/auth/refresh').send({ refresh_token: token });
  const changePassword = (headers: Record<string, string>, body: object) =>
    conformingHttp(t).post('/me/password').set(headers).send(body);

  /** Expects the request to append no event (denials recorded for the audit log aside). */
  async function appendsNothing<T>(call: () => Promise<T>): Promise<T> {
    const before = await countEvents(t, IGNORED);
    const result = await call();
    expect(await countEvents(t, IGNORED)).toBe(before);
    return result;
  }

  describe('POST /me/password', () => {
    it('changes the password, ends every other session, keeps user API keys, returns a new session', async () => {
      const a = await signUp(t, 'pw-change');
      const second = await login(t, a.email);
      expect(second.status).toBe(200);
      const userKey = await t
        .http()
        .post('/auth/keys')
        .set(bearer(a.accessToken))
        .send({ name: 'cli' });
      expect(userKey.status).toBe(201);

      const changed = await changePassword(bearer(a.accessToken), {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect(changed.body).toMatchObject({
        message: 'password changed; every other session has ended',
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        api_key: expect.stringMatching(/^nimbus_/),
        token_type: 'Bearer',
        expires_in: 900,
      });

      // Every earlier session is over: both logins' JWTs, session keys and refresh tokens.
      for (const jwt of [a.accessToken, second.body.access_token as string]) {
        expect((await me(bearer(jwt))).status).toBe(401);
      }
      for (const key of [a.apiKey, second.body.api_key as string]) {
        expect((await me({ 'x-api-key': key })).status).toBe(401);
      }
      for (const token of [a.refreshToken, second.body.refresh_token as string]) {
        expect((await refresh(token)).status).toBe(401);
      }
      // A key the user made on purpose is not a session.
      expect((await me({ 'x-api-key': userKey.body.key })).status).toBe(200);
      // The caller's new session works.
      expect((await me(bearer(changed.body.access_token))).status).toBe(200);
      expect((await me({ 'x-api-key': changed.body.api_key })).status).toBe(200);
      expect((await refresh(changed.body.refresh_token)).status).toBe(200);

      expect((await login(t, a.email)).status).toBe(401);
      expect((await login(t, a.email, NEW_PASSWORD)).status).toBe(200);
      const revoked = (await eventsOfType(t, 'SessionsRevoked')).filter(
        (e) => e.stream_id === `user-${a.userId}`,
      );
      expect(revoked.map((e) => e.data.reason)).toEqual(['password_changed']);
    });

    it('a wrong current password is 401 and counts in the sign-in throttle of its address; nothing locks the account', async () => {
      const a = await signUp(t, 'pw-wrong');
      const jwt = bearer(a.accessToken);
      for (let i = 1; i <= 3; i++) {
        const wrong = await changePassword(jwt, {
          current_password: `not-the-password-${i}`,
          new_password: NEW_PASSWORD,
        });
        expect(wrong.status).toBe(401);
        expect(wrong.body.error).toMatchObject({
          code: 'unauthorized',
          message: 'the current password is incorrect',
          details: { fields: [{ path: 'current_password', message: 'is incorrect' }] },
        });
      }
      const failures = (await eventsOfType(t, 'LoginFailed')).filter(
        (e) => e.stream_id === `user-${a.userId}`,
      );
      expect(failures.map((e) => e.data.consecutiveFailures)).toEqual([1, 2, 3]);
      // The address that guessed waits, at both doors, before any password is checked...
      const throttled = await changePassword(jwt, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      });
      expect(throttled.status).toBe(429);
      expect(throttled.body.error.code).toBe('sign_in_throttled');
      expect(throttled.headers['retry-after']).toMatch(/^\d+$/);
      expect((await login(t, a.email)).status).toBe(429);
      // ...another address signs in with the right password at once, and the session lives on.
      const elsewhere = await t.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: a.email, password: PASSWORD },
        remoteAddress: '198.51.100.23',
      });
      expect(elsewhere.statusCode).toBe(200);
      expect((await me(jwt)).status).toBe(200);
    });

    it('refuses a weak or missing new password with the policy, appending nothing', async () => {
      const a = await signUp(t, 'pw-weak');
      const jwt = bearer(a.accessToken);
      const weak = await appendsNothing(() =>
        changePassword(jwt, { current_password: PASSWORD, new_password: 'short' }),
      );
      expect(weak.status).toBe(400);
      expect(weak.body.error.code).toBe('validation_error');
      expect(weak.body.error.message).toMatch(/^new_password is too weak\. /);
      expect(weak.body.error.details.fields[0].path).toBe('new_password');
      const missing = await appendsNothing(() =>
        changePassword(jwt, { current_password: PASSWORD }),
      );
      expect(missing.status).toBe(400);
      expect(missing.body.error.details.fields[0].path).toBe('new_password');
      const unknownField = await appendsNothing(() =>
        changePassword(jwt, {
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
          admin: true,
        }),
      );
      expect(unknownField.status).toBe(400);
      expect(
        (
          await t
            .http()
            .post('/me/password')
            .send({ current_password: PASSWORD, new_password: NEW_PASSWORD })
        ).status,
      ).toBe(401);
      expect((await login(t, a.email)).status).toBe(200);
    });

    it('is self-service: a viewer acting in another tenant may change their own password', async () => {
      const owner = await signUp(t, 'pw-owner');
      const viewer = await signUp(t, 'pw-viewer');
      const added = await t
        .http()
        .post(`/tenants/${owner.tenantId}/members`)
        .set(bearer(owner.accessToken))
        .send({ user_id: viewer.userId, role: 'viewer' });
      expect(added.status).toBe(201);
      const changed = await changePassword(
        { ...bearer(viewer.accessToken), 'x-tenant-id': owner.tenantId },
        { current_password: PASSWORD, new_password: NEW_PASSWORD },
      );
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect((await login(t, viewer.email, NEW_PASSWORD)).status).toBe(200);
    });
  });

  describe('PATCH and DELETE /tenants/:id/members/:userId', () => {
    let owner: Account;
    let admin: Account;
    let member: Account;
    let outsider: Account;
    let tenantId: string;

    const members = async () => {
      const res = await conformingHttp(t)
        .get(`/tenants/${tenantId}/members`)
        .set(bearer(owner.accessToken));
      expect(res.status).toBe(200);
      return Object.fromEntries(
        (res.body as Array<{ user_id: string; role: string }>).map((m) => [m.user_id, m.role]),
      );
    };
    const patch = (by: Account, userId: string, role: unknown) =>
      t
        .http()
        .patch(`/tenants/${tenantId}/members/${userId}`)
        .set(bearer(by.accessToken))
        .send({ role });
    const remove = (by: Account, userId: string) =>
      conformingHttp(t)
        .delete(`/tenants/${tenantId}/members/${userId}`)
        .set(bearer(by.accessToken));
    const inTenant = (a: Account) => ({ ...bearer(a.accessToken), 'x-tenant-id': tenantId });

    beforeAll(async () => {
      [owner, admin, member, outsider] = await Promise.all([
        signUp(t, 'm-owner'),
        signUp(t, 'm-admin'),
        signUp(t, 'm-member'),
        signUp(t, 'm-outsider'),
      ]);
      tenantId = owner.tenantId;
      for (const [who, role] of [
        [admin, 'admin'],
        [member, 'member'],
      ] as const) {
        const res = await t
          .http()
          .post(`/tenants/${tenantId}/members`)
          .set(bearer(owner.accessToken))
          .send({ user_id: who.userId, role });
        expect(res.status).toBe(201);
      }
    });

    it("changes a member's role; the new role applies to the very next request", async () => {
      expect(
        (await conformingHttp(t).post('/auth/keys').set(inTenant(member)).send({ name: 'm' }))
          .status,
      ).toBe(201);
      const demoted = await patch(owner, member.userId, 'viewer');
      expect(demoted.status, JSON.stringify(demoted.body)).toBe(200);
      expect(demoted.body).toEqual({ tenant_id: tenantId, user_id: member.userId, role: 'viewer' });
      expect(demoted.headers.etag).toMatch(/^W\/"\d+"$/);
      expect((await members())[member.userId]).toBe('viewer');
      const write = await conformingHttp(t)
        .post('/auth/keys')
        .set(inTenant(member))
        .send({ name: 'no' });
      expect(write.status).toBe(403);
      // Admins manage the roles below owner.
      expect((await patch(admin, member.userId, 'member')).status).toBe(200);
      expect((await members())[member.userId]).toBe('member');
      // The same role again changes nothing.
      expect((await appendsNothing(() => patch(owner, member.userId, 'member'))).status).toBe(200);
    });

    it('refuses, appending nothing: admins touching owners, the last owner, non-members, bad roles, outsiders', async () => {
      const refusals: Array<
        [
          string,
          () => Promise<{ status: number; body: { error: { code: string } } }>,
          number,
          string,
        ]
      > = [
        ['admin grants owner', () => patch(admin, member.userId, 'owner'), 403, 'forbidden'],
        ['admin demotes the owner', () => patch(admin, owner.userId, 'admin'), 403, 'forbidden'],
        ['admin removes the owner', () => remove(admin, owner.userId), 403, 'forbidden'],
        [
          'last owner demotes self',
          () => patch(owner, owner.userId, 'admin'),
          409,
          'invalid_state',
        ],
        ['last owner removes self', () => remove(owner, owner.userId), 409, 'invalid_state'],
        ['member manages members', () => patch(member, admin.userId, 'viewer'), 403, 'forbidden'],
        ['not a member', () => patch(owner, outsider.userId, 'viewer'), 404, 'not_found'],
        ['remove a non-member', () => remove(owner, outsider.userId), 404, 'not_found'],
        ['unknown role', () => patch(owner, member.userId, 'superuser'), 400, 'validation_error'],
        ['outsider', () => patch(outsider, member.userId, 'viewer'), 404, 'not_found'],
        ['outsider removes', () => remove(outsider, member.userId), 404, 'not_found'],
      ];
      const failures: string[] = [];
      for (const [label, call, status, code] of refusals) {
        const before = await countEvents(t, IGNORED);
        const res = await call();
        const appended = (await countEvents(t, IGNORED)) - before;
        if (res.status !== status || res.body.error?.code !== code || appended !== 0) {
          failures.push(
            `${label}: ${res.status} ${JSON.stringify(res.body)} (+${appended} events)`,
          );
        }
      }
      expect(failures).toEqual([]);
      expect(await members()).toEqual({
        [owner.userId]: 'owner',
        [admin.userId]: 'admin',
        [member.userId]: 'member',
      });
    });

    it('an owner hands ownership over; removed members lose access at once', async () => {
      expect((await patch(owner, admin.userId, 'owner')).status).toBe(200);
      // Two owners: the first may step down now.
      expect((await patch(owner, owner.userId, 'admin')).status).toBe(200);
      // The new owner removes the former one, then the member.
      expect((await remove(admin, owner.userId)).status).toBe(204);
      expect((await me(inTenant(owner))).status).toBe(404);
      expect((await remove(admin, member.userId)).status).toBe(204);
      expect((await me(inTenant(member))).status).toBe(404);
      expect((await remove(admin, member.userId)).status).toBe(404);
      const listed = await t
        .http()
        .get(`/tenants/${tenantId}/members`)
        .set(bearer(admin.accessToken));
      expect(
        listed.body.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      ).toEqual([[admin.userId, 'owner']]);
      const removed = (await eventsOfType(t, 'TenantMemberRemoved')).filter(
        (e) => e.stream_id === `tenant-${tenantId}`,
      );
      expect(removed.map((e) => e.data.userId)).toEqual([owner.userId, member.userId]);
    });
  });

  describe('POST /auth/logout', () => {
    it("ends the refresh family and that login's session key; other sessions and the JWT remain", async () => {
      const a = await signUp(t, 'logout-key');
      const other = await login(t, a.email);
      const out = await conformingHttp(t)
        .post('/auth/logout')
        .send({ refresh_token: a.refreshToken });
      expect(out.status).toBe(200);
      expect((await me({ 'x-api-key': a.apiKey })).status).toBe(401);
      expect((await refresh(a.refreshToken)).status).toBe(401);
      // The access token is short-lived and stateless: it runs out on its own (15 min).
      expect((await me(bearer(a.accessToken))).status).toBe(200);
      // Another login of the same user is another session.
      expect((await me({ 'x-api-key': other.body.api_key })).status).toBe(200);
      expect((await refresh(other.body.refresh_token)).status).toBe(200);

      const revoked = (await eventsOfType(t, 'ApiKeyRevoked')).filter(
        (e) => e.data.userId === a.userId,
      );
      expect(revoked).toHaveLength(1);
      expect(revoked[0].data.reason).toBe('session_ended');
      const listed = await conformingHttp(t).get('/auth/keys').set(bearer(a.accessToken));
      expect(listed.body.map((k: { id: string }) => k.id)).not.toContain(revoked[0].data.keyId);

      // Logging out again changes nothing.
      const again = await appendsNothing(() =>
        conformingHttp(t).post('/auth/logout').send({ refresh_token: a.refreshToken }),
      );
      expect(again.status).toBe(200);
    });

    it('after a refresh the rotated family still ends its session key; reuse detection ends it too', async () => {
      const a = await signUp(t, 'logout-rotated');
      const rotated = await refresh(a.refreshToken);
      expect(rotated.status).toBe(200);
      expect(
        (
          await conformingHttp(t)
            .post('/auth/logout')
            .send({ refresh_token: rotated.body.refresh_token })
        ).status,
      ).toBe(200);
      expect((await me({ 'x-api-key': a.apiKey })).status).toBe(401);

      const b = await login(t, a.email);
      const next = await refresh(b.body.refresh_token);
      expect(next.status).toBe(200);
      expect((await me({ 'x-api-key': b.body.api_key })).status).toBe(200);
      expect((await refresh(b.body.refresh_token)).status).toBe(401); // replayed: theft assumed
      expect((await me({ 'x-api-key': b.body.api_key })).status).toBe(401);
      expect((await refresh(next.body.refresh_token)).status).toBe(401);
    });
  });
});
