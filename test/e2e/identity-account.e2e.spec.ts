/**
 * The account routes closed after the first identity pass: POST /me/password, PATCH and DELETE
 * /tenants/:id/members/:userId, and logout ending the session API key with the refresh family.
 * Through the generated SDK; the few requests its types refuse on purpose (a body missing a
 * field or carrying an unknown one) go through `conformingHttp`, answers checked all the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import {
  conformingHttp,
  refusedWith,
  sdkClients,
  sdkSignUp,
  unwrap,
  type NimbusClient,
  type Schemas,
  type SdkAccount,
} from '../support/sdk';
import { PASSWORD, countEvents, eventsOfType } from './identity.helpers';

const NEW_PASSWORD = 'brand-new-horse-42';
const IGNORED = ['AccessDenied'];

type Role = NonNullable<Schemas['ChangeMemberRoleDto']['role']>;

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

  const { withToken, withKey, anonymous, meStatus, login, refresh } = sdkClients(() => t);
  const changePassword = (client: NimbusClient, current: string, next: string) =>
    client.POST('/me/password', { body: { current_password: current, new_password: next } });

  /** Expects the request to append no event (denials recorded for the audit log aside). */
  async function appendsNothing<T>(call: () => Promise<T>): Promise<T> {
    const before = await countEvents(t, IGNORED);
    const result = await call();
    expect(await countEvents(t, IGNORED)).toBe(before);
    return result;
  }

  describe('POST /me/password', () => {
    it('changes the password, ends every other session, keeps user API keys, returns a new session', async () => {
      const a = await sdkSignUp(t, 'pw-change');
      const second = unwrap(await login(a.email));
      const userKey = unwrap(
        await withToken(a.accessToken).POST('/auth/keys', { body: { name: 'cli' } }),
      );

      const changed = unwrap(
        await changePassword(withToken(a.accessToken), PASSWORD, NEW_PASSWORD),
      );
      expect(changed).toMatchObject({
        message: 'password changed; every other session has ended',
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        api_key: expect.stringMatching(/^nimbus_/),
        token_type: 'Bearer',
        expires_in: 900,
      });

      // Every earlier session is over: both logins' JWTs, session keys and refresh tokens.
      for (const jwt of [a.accessToken, second.access_token]) {
        expect(await meStatus(withToken(jwt))).toBe(401);
      }
      for (const key of [a.apiKey, second.api_key as string]) {
        expect(await meStatus(withKey(key))).toBe(401);
      }
      for (const token of [a.refreshToken, second.refresh_token]) {
        expect((await refresh(token)).response.status).toBe(401);
      }
      // A key the user made on purpose is not a session.
      expect(await meStatus(withKey(userKey.key))).toBe(200);
      // The caller's new session works.
      expect(await meStatus(withToken(changed.access_token))).toBe(200);
      expect(await meStatus(withKey(changed.api_key as string))).toBe(200);
      expect((await refresh(changed.refresh_token)).response.status).toBe(200);

      expect((await login(a.email)).response.status).toBe(401);
      expect((await login(a.email, NEW_PASSWORD)).response.status).toBe(200);
      const revoked = (await eventsOfType(t, 'SessionsRevoked')).filter(
        (e) => e.stream_id === `user-${a.userId}`,
      );
      expect(revoked.map((e) => e.data.reason)).toEqual(['password_changed']);
    });

    it('a wrong current password is 401 and counts in the sign-in throttle of its address; nothing locks the account', async () => {
      const a = await sdkSignUp(t, 'pw-wrong');
      const jwt = withToken(a.accessToken);
      for (let i = 1; i <= 3; i++) {
        const wrong = refusedWith(
          await changePassword(jwt, `not-the-password-${i}`, NEW_PASSWORD),
          401,
          'unauthorized',
        );
        expect(wrong).toMatchObject({
          message: 'the current password is incorrect',
          details: { fields: [{ path: 'current_password', message: 'is incorrect' }] },
        });
      }
      const failures = (await eventsOfType(t, 'LoginFailed')).filter(
        (e) => e.stream_id === `user-${a.userId}`,
      );
      expect(failures.map((e) => e.data.consecutiveFailures)).toEqual([1, 2, 3]);
      // The address that guessed waits, at both doors, before any password is checked...
      const throttled = await changePassword(jwt, PASSWORD, NEW_PASSWORD);
      refusedWith(throttled, 429, 'sign_in_throttled');
      expect(throttled.response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await login(a.email)).response.status).toBe(429);
      // ...another address signs in with the right password at once, and the session lives on.
      // (Another source address needs the in-process injection, not a socket.)
      const elsewhere = await t.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: a.email, password: PASSWORD },
        remoteAddress: '198.51.100.23',
      });
      expect(elsewhere.statusCode).toBe(200);
      expect(await meStatus(jwt)).toBe(200);
    });

    it('refuses a weak or missing new password with the policy, appending nothing', async () => {
      const a = await sdkSignUp(t, 'pw-weak');
      const jwt = withToken(a.accessToken);
      const weak = refusedWith(
        await appendsNothing(() => changePassword(jwt, PASSWORD, 'short')),
        400,
        'validation_error',
      );
      expect(weak.message).toMatch(/^new_password is too weak\. /);
      expect((weak.details as { fields: Array<{ path: string }> }).fields[0].path).toBe(
        'new_password',
      );
      // Bodies the SDK's types refuse: a missing field, an unknown one.
      const raw = (body: object) =>
        conformingHttp(t)
          .post('/me/password')
          .set('authorization', `Bearer ${a.accessToken}`)
          .send(body);
      const missing = await appendsNothing(() => raw({ current_password: PASSWORD }));
      expect(missing.status).toBe(400);
      expect(missing.body.error.details.fields[0].path).toBe('new_password');
      const unknownField = await appendsNothing(() =>
        raw({ current_password: PASSWORD, new_password: NEW_PASSWORD, admin: true }),
      );
      expect(unknownField.status).toBe(400);
      expect((await changePassword(anonymous(), PASSWORD, NEW_PASSWORD)).response.status).toBe(401);
      expect((await login(a.email)).response.status).toBe(200);
    });

    it('is self-service: a viewer acting in another tenant may change their own password', async () => {
      const owner = await sdkSignUp(t, 'pw-owner');
      const viewer = await sdkSignUp(t, 'pw-viewer');
      unwrap(
        await withToken(owner.accessToken).POST('/tenants/{id}/members', {
          params: { path: { id: owner.tenantId } },
          body: { user_id: viewer.userId, role: 'viewer' },
        }),
      );
      unwrap(
        await changePassword(withToken(viewer.accessToken, owner.tenantId), PASSWORD, NEW_PASSWORD),
      );
      expect((await login(viewer.email, NEW_PASSWORD)).response.status).toBe(200);
    });
  });

  describe('PATCH and DELETE /tenants/:id/members/:userId', () => {
    let owner: SdkAccount;
    let admin: SdkAccount;
    let member: SdkAccount;
    let outsider: SdkAccount;
    let tenantId: string;

    const members = async () => {
      const listed = unwrap(
        await withToken(owner.accessToken).GET('/tenants/{id}/members', {
          params: { path: { id: tenantId } },
        }),
      );
      return Object.fromEntries(listed.map((m) => [m.user_id, m.role]));
    };
    const patch = (by: SdkAccount, userId: string, role: Role) =>
      withToken(by.accessToken).PATCH('/tenants/{id}/members/{userId}', {
        params: { path: { id: tenantId, userId } },
        body: { role },
      });
    const remove = (by: SdkAccount, userId: string) =>
      withToken(by.accessToken).DELETE('/tenants/{id}/members/{userId}', {
        params: { path: { id: tenantId, userId } },
      });
    const inTenant = (a: SdkAccount) => withToken(a.accessToken, tenantId);

    beforeAll(async () => {
      [owner, admin, member, outsider] = await Promise.all([
        sdkSignUp(t, 'm-owner'),
        sdkSignUp(t, 'm-admin'),
        sdkSignUp(t, 'm-member'),
        sdkSignUp(t, 'm-outsider'),
      ]);
      tenantId = owner.tenantId;
      for (const [who, role] of [
        [admin, 'admin'],
        [member, 'member'],
      ] as const) {
        unwrap(
          await withToken(owner.accessToken).POST('/tenants/{id}/members', {
            params: { path: { id: tenantId } },
            body: { user_id: who.userId, role },
          }),
        );
      }
    });

    it("changes a member's role; the new role applies to the very next request", async () => {
      unwrap(await inTenant(member).POST('/auth/keys', { body: { name: 'm' } }));
      const demoted = await patch(owner, member.userId, 'viewer');
      expect(unwrap(demoted)).toEqual({
        tenant_id: tenantId,
        user_id: member.userId,
        role: 'viewer',
      });
      expect(demoted.response.headers.get('etag')).toMatch(/^W\/"\d+"$/);
      expect((await members())[member.userId]).toBe('viewer');
      refusedWith(
        await inTenant(member).POST('/auth/keys', { body: { name: 'no' } }),
        403,
        'forbidden',
      );
      // Admins manage the roles below owner.
      unwrap(await patch(admin, member.userId, 'member'));
      expect((await members())[member.userId]).toBe('member');
      // The same role again changes nothing.
      const same = await appendsNothing(() => patch(owner, member.userId, 'member'));
      expect(same.response.status).toBe(200);
    });

    it('refuses, appending nothing: admins touching owners, the last owner, non-members, bad roles, outsiders', async () => {
      const refusals: Array<
        [string, () => Promise<{ error?: unknown; response: Response }>, number, string]
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
        [
          'unknown role',
          // A role the document does not list, sent on purpose.
          () => patch(owner, member.userId, 'superuser' as Role),
          400,
          'validation_error',
        ],
        ['outsider', () => patch(outsider, member.userId, 'viewer'), 404, 'not_found'],
        ['outsider removes', () => remove(outsider, member.userId), 404, 'not_found'],
      ];
      const failures: string[] = [];
      for (const [label, call, status, code] of refusals) {
        const before = await countEvents(t, IGNORED);
        const res = await call();
        const appended = (await countEvents(t, IGNORED)) - before;
        const got = (res.error as { error?: { code?: string } } | undefined)?.error?.code;
        if (res.response.status !== status || got !== code || appended !== 0) {
          failures.push(
            `${label}: ${res.response.status} ${JSON.stringify(res.error)} (+${appended} events)`,
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
      unwrap(await patch(owner, admin.userId, 'owner'));
      // Two owners: the first may step down now.
      unwrap(await patch(owner, owner.userId, 'admin'));
      // The new owner removes the former one, then the member.
      expect((await remove(admin, owner.userId)).response.status).toBe(204);
      expect(await meStatus(inTenant(owner))).toBe(404);
      expect((await remove(admin, member.userId)).response.status).toBe(204);
      expect(await meStatus(inTenant(member))).toBe(404);
      expect((await remove(admin, member.userId)).response.status).toBe(404);
      const listed = unwrap(
        await withToken(admin.accessToken).GET('/tenants/{id}/members', {
          params: { path: { id: tenantId } },
        }),
      );
      expect(listed.map((m) => [m.user_id, m.role])).toEqual([[admin.userId, 'owner']]);
      const removed = (await eventsOfType(t, 'TenantMemberRemoved')).filter(
        (e) => e.stream_id === `tenant-${tenantId}`,
      );
      expect(removed.map((e) => e.data.userId)).toEqual([owner.userId, member.userId]);
    });
  });

  describe('POST /auth/logout', () => {
    const logout = (token: string) =>
      anonymous().POST('/auth/logout', { body: { refresh_token: token } });

    it("ends the refresh family and that login's session key; other sessions and the JWT remain", async () => {
      const a = await sdkSignUp(t, 'logout-key');
      const other = unwrap(await login(a.email));
      unwrap(await logout(a.refreshToken));
      expect(await meStatus(withKey(a.apiKey))).toBe(401);
      expect((await refresh(a.refreshToken)).response.status).toBe(401);
      // The access token is short-lived and stateless: it runs out on its own (15 min).
      expect(await meStatus(withToken(a.accessToken))).toBe(200);
      // Another login of the same user is another session.
      expect(await meStatus(withKey(other.api_key as string))).toBe(200);
      expect((await refresh(other.refresh_token)).response.status).toBe(200);

      const revoked = (await eventsOfType(t, 'ApiKeyRevoked')).filter(
        (e) => e.data.userId === a.userId,
      );
      expect(revoked).toHaveLength(1);
      expect(revoked[0].data.reason).toBe('session_ended');
      const listed = unwrap(await withToken(a.accessToken).GET('/auth/keys'));
      expect(listed.map((k) => k.id)).not.toContain(revoked[0].data.keyId);

      // Logging out again changes nothing.
      const again = await appendsNothing(() => logout(a.refreshToken));
      expect(again.response.status).toBe(200);
    });

    it('after a refresh the rotated family still ends its session key; reuse detection ends it too', async () => {
      const a = await sdkSignUp(t, 'logout-rotated');
      const rotated = unwrap(await refresh(a.refreshToken));
      unwrap(await logout(rotated.refresh_token));
      expect(await meStatus(withKey(a.apiKey))).toBe(401);

      const b = unwrap(await login(a.email));
      const next = unwrap(await refresh(b.refresh_token));
      expect(await meStatus(withKey(b.api_key as string))).toBe(200);
      expect((await refresh(b.refresh_token)).response.status).toBe(401); // replayed: theft assumed
      expect(await meStatus(withKey(b.api_key as string))).toBe(401);
      expect((await refresh(next.refresh_token)).response.status).toBe(401);
    });
  });
});
