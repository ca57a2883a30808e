/**
 * Identity end to end through the generated SDK: accounts, sessions, keys, tenants, members,
 * IAM policies, sign-in throttling and erasure. The requests the SDK's types refuse on purpose
 * (invalid bodies, conflicting credential headers) go through `conformingHttp`; sign-ins from
 * other client addresses go through Fastify's injection. Every JSON answer is checked against
 * the document either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/common/ids';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { ErasePerson } from '../../src/identity/application/accounts';
import { Clock } from '../../src/platform/clock';
import { declaredAccessOfRoutes } from '../../src/identity/auth/route-access';
import { IAM_ACTIONS } from '../../src/identity/domain/iam-actions';
import { startTestApp, type TestApp } from '../support/app';
import {
  conformingHttp,
  refusedWith,
  sdkClients,
  sdkSignUp,
  unwrap,
  type NimbusClient,
  type SdkAccount,
} from '../support/sdk';
import {
  PASSWORD,
  countEvents,
  eventsOfType,
  resetTokenFromOutbox,
  uniqueEmail,
} from './identity.helpers';

const OPERATOR = 'operator@example.com';
const UNKNOWN_KEY = 'nimbus_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

describe('identity (e2e)', () => {
  let t: TestApp;
  const { withToken, withKey, anonymous, meStatus, login, refresh } = sdkClients(() => t);
  const register = (email: string, name = 'Test User') =>
    anonymous().POST('/auth/register', { body: { email, password: PASSWORD, name } });
  const addMember = (owner: SdkAccount, userId: string, role: 'admin' | 'member' | 'viewer') =>
    withToken(owner.accessToken).POST('/tenants/{id}/members', {
      params: { path: { id: owner.tenantId } },
      body: { user_id: userId, role },
    });
  const membersOf = async (tenantId: string, token: string) =>
    unwrap(
      await withToken(token).GET('/tenants/{id}/members', { params: { path: { id: tenantId } } }),
    );
  const createKey = (client: NimbusClient, name: string) =>
    client.POST('/auth/keys', { body: { name } });
  const keyPath = (id: string) => ({ params: { path: { id } } });

  beforeAll(async () => {
    // The per-IP auth limit has its own test file; here every call comes from 127.0.0.1.
    t = await startTestApp({
      label: 'identity',
      config: { authRateLimitPerMinute: 10_000, operatorEmails: [OPERATOR] },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('register -> login -> create tenant -> create key -> use key -> rotate -> old key 401', async () => {
    const email = uniqueEmail('flow');
    const reg = unwrap(await register(email, 'Flow User'));
    expect(reg).toEqual({ message: 'user created successfully', user_id: expect.any(String) });

    refusedWith(await register(email.toUpperCase(), 'X'), 409, 'email_taken');

    const signIn = unwrap(await login(email));
    expect(signIn).toMatchObject({
      user: { id: reg.user_id, email, name: 'Flow User' },
      api_key: expect.stringMatching(/^nimbus_/),
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      expires_in: 900,
    });
    const jwt = withToken(signIn.access_token);

    const me = unwrap(await jwt.GET('/me'));
    expect(me).toMatchObject({
      user: { id: reg.user_id, email },
      roles: ['owner'],
      credential: { type: 'jwt' },
    });

    // The session key works at once, bound to the personal tenant.
    const viaSessionKey = unwrap(await withKey(signIn.api_key as string).GET('/me'));
    expect(viaSessionKey.tenant?.id).toBe(me.tenant?.id);

    const createTenant = (name: string, slug: string) =>
      jwt.POST('/tenants', { body: { name, slug } });
    const slug = `acme-${Date.now()}`;
    const created = await createTenant('Acme Corp', slug);
    const tenant = unwrap(created);
    expect(tenant).toMatchObject({ name: 'Acme Corp', role: 'owner', owner_id: reg.user_id });
    expect(created.response.headers.get('location')).toBe(`/tenants/${tenant.id}`);
    expect((await createTenant('Other', slug)).response.status).toBe(409);
    const badSlug = refusedWith(await createTenant('Other', '-Bad_'), 400, 'validation_error');
    expect((badSlug.details as { fields: Array<{ path: string }> }).fields[0].path).toBe('slug');

    const tenants = unwrap(await jwt.GET('/tenants'));
    expect(tenants.map((x) => x.id)).toContain(tenant.id);

    const inAcme = withToken(signIn.access_token, tenant.id);
    const keyCreated = unwrap(await createKey(inAcme, 'Production Key'));
    expect(keyCreated).toMatchObject({
      id: expect.any(String),
      user_id: reg.user_id,
      tenant_id: tenant.id,
      name: 'Production Key',
      key: expect.stringMatching(/^nimbus_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$/),
      created_at: expect.any(String),
      last_used: null,
    });
    const key = keyCreated.key;

    const listed = unwrap(await inAcme.GET('/auth/keys'));
    expect(listed.map((k) => k.id)).toEqual([keyCreated.id]);
    expect(JSON.stringify(listed)).not.toContain(key);

    const used = unwrap(await withKey(key).GET('/me'));
    expect(used).toMatchObject({
      tenant: { id: tenant.id },
      credential: { type: 'api_key', api_key_id: keyCreated.id },
    });
    const afterUse = unwrap(await inAcme.GET('/auth/keys'));
    expect(afterUse[0].last_used).toEqual(expect.any(String));
    // An API key is also accepted as a bearer token.
    expect(await meStatus(withToken(key))).toBe(200);

    const rotated = unwrap(await inAcme.POST('/auth/keys/{id}/rotate', keyPath(keyCreated.id)));
    expect(rotated.key).not.toBe(key);
    refusedWith(await withKey(key).GET('/me'), 401, 'unauthorized');
    expect(await meStatus(withKey(rotated.key))).toBe(200);

    const regenerated = unwrap(
      await inAcme.POST('/auth/keys/{id}/regenerate', keyPath(keyCreated.id)),
    );
    expect(await meStatus(withKey(rotated.key))).toBe(401);

    const revoked = await inAcme.DELETE('/auth/keys/{id}', keyPath(keyCreated.id));
    expect(revoked.response.status).toBe(204);
    expect(await meStatus(withKey(regenerated.key))).toBe(401);
    refusedWith(await inAcme.DELETE('/auth/keys/{id}', keyPath(keyCreated.id)), 404, 'not_found');

    // The denied uses were recorded for the audit log.
    const denials = await eventsOfType(t, 'AccessDenied');
    expect(denials.length).toBeGreaterThanOrEqual(3);
    expect(denials[0].data).toMatchObject({ status: 401, method: 'GET', path: '/me' });
  });

  it('two registrations of one email at once: exactly one wins (claim stream), the other 409', async () => {
    const email = uniqueEmail('race');
    const attempts = await Promise.all([0, 1, 2].map(() => register(email, 'Racer')));
    expect(attempts.map((r) => r.response.status).sort()).toEqual([201, 409, 409]);
    for (const lost of attempts.filter((r) => r.response.status === 409)) {
      refusedWith(lost, 409, 'email_taken');
    }
    expect((await login(email)).response.status).toBe(200);
  });

  it('a user API key cannot manage keys or tenants unless its user is a tenant admin', async () => {
    const owner = await sdkSignUp(t, 'keyowner');
    const viewer = await sdkSignUp(t, 'keyviewer');
    unwrap(await addMember(owner, viewer.userId, 'viewer'));
    // Viewers may not create keys (apikey:create is a write).
    const viewerInOwnerTenant = withToken(viewer.accessToken, owner.tenantId);
    refusedWith(await createKey(viewerInOwnerTenant, 'viewer key'), 403, 'forbidden');
    // The owner's API key may manage keys: owners are tenant admins.
    unwrap(await createKey(owner.sdk, 'by key'));
  });

  it('refresh rotates; replaying a used refresh token revokes the whole family', async () => {
    const a = await sdkSignUp(t, 'refresh');
    const first = unwrap(await refresh(a.refreshToken));
    expect(first).toMatchObject({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
    });
    expect(first.refresh_token).not.toBe(a.refreshToken);
    expect(await meStatus(withToken(first.access_token))).toBe(200);

    expect((await refresh(a.refreshToken)).response.status).toBe(401);
    // The thief detection also killed the newer token of the same family.
    expect((await refresh(first.refresh_token)).response.status).toBe(401);
    const revoked = await eventsOfType(t, 'RefreshTokenFamilyRevoked');
    expect(
      revoked.some((e) => e.stream_id === `user-${a.userId}` && e.data.reason === 'reuse_detected'),
    ).toBe(true);

    expect((await refresh('garbage')).response.status).toBe(401);
  });

  it('forgot-password mails a token through the outbox; reset ends every session', async () => {
    const a = await sdkSignUp(t, 'reset');
    const forgot = (email: string) =>
      anonymous().POST('/auth/forgot-password', { body: { email } });
    const unknown = unwrap(await forgot(uniqueEmail('nobody')));
    const known = unwrap(await forgot(a.email));
    expect(known).toEqual({ message: 'If the email exists, a reset token has been sent.' });
    expect(unknown).toEqual(known);

    const token = resetTokenFromOutbox(t, a.email);
    const reset = (newPassword: string) =>
      anonymous().POST('/auth/reset-password', { body: { token, new_password: newPassword } });
    const fieldOf = (error: { details?: unknown }) =>
      (error.details as { fields: Array<{ path: string }> }).fields[0].path;
    expect(fieldOf(refusedWith(await reset('short'), 400, 'validation_error'))).toBe(
      'new_password',
    );

    const newPassword = 'another-horse-8-battery';
    expect(unwrap(await reset(newPassword))).toEqual({ message: 'password updated successfully' });

    // Single use.
    expect(fieldOf(refusedWith(await reset(newPassword), 400, 'validation_error'))).toBe('token');
    // Every session is over: the JWT, the session key, the refresh token.
    expect(await meStatus(withToken(a.accessToken))).toBe(401);
    expect(await meStatus(withKey(a.apiKey))).toBe(401);
    expect((await refresh(a.refreshToken)).response.status).toBe(401);
    expect((await login(a.email)).response.status).toBe(401);
    expect((await login(a.email, newPassword)).response.status).toBe(200);
  });

  describe('sign-in throttling: per account and address, never a lockout', () => {
    /** A sign-in from a given client address (Fastify's inject sets the socket's address). */
    const loginFrom = async (address: string, email: string, password = PASSWORD) => {
      const res = await t.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password },
        remoteAddress: address,
      });
      const body = res.json<{ error?: { code: string; message: string } }>();
      return {
        status: res.statusCode,
        code: body.error?.code ?? null,
        message: body.error?.message ?? null,
        retryAfter: res.headers['retry-after'] ?? null,
      };
    };
    const clock = () => t.app.get(Clock);

    /** Wrong passwords from `address`, waiting out each Retry-After (clock moved, no sleeping). */
    async function guess(address: string, email: string, attempts: number) {
      const answers: Array<Awaited<ReturnType<typeof loginFrom>>> = [];
      for (let i = 0; i < attempts; i++) {
        const answer = await loginFrom(address, email, `wrong-password-${i}`);
        answers.push(answer);
        if (answer.status === 429) clock().advance(Number(answer.retryAfter) * 1000);
      }
      return answers;
    }

    it("an attacker's failures from address X never block the owner from address Y, and X's backoff grows", async () => {
      const victim = await sdkSignUp(t, 'throttle');
      const attacker = '203.0.113.10';
      const answers = await guess(attacker, victim.email, 9);
      expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429, 401, 429, 401, 429, 401]);
      expect(answers.filter((a) => a.status === 429).map((a) => a.retryAfter)).toEqual([
        '1',
        '2',
        '4',
      ]);
      expect(answers[3]).toMatchObject({ code: 'sign_in_throttled' });
      // Checked before the password: even the right one waits at X, 8 s now.
      expect(await loginFrom(attacker, victim.email)).toMatchObject({
        status: 429,
        retryAfter: '8',
      });
      // The owner, from another address, signs in at once.
      expect((await loginFrom('198.51.100.10', victim.email)).status).toBe(200);
      expect((await eventsOfType(t, 'AccountLocked')).length).toBe(0);
    });

    it('an unknown email answers exactly like a known one, throttled the same way', async () => {
      const known = await sdkSignUp(t, 'throttle-known');
      const unknownEmail = uniqueEmail('throttle-ghost');
      const onKnown = await guess('203.0.113.20', known.email, 7);
      const onUnknown = await guess('203.0.113.21', unknownEmail, 7);
      expect(onUnknown).toEqual(onKnown);
      expect(onKnown.map((a) => a.status)).toEqual([401, 401, 401, 429, 401, 429, 401]);
      expect(onKnown[0]).toMatchObject({
        code: 'unauthorized',
        message: 'invalid email or password',
      });
    });

    it('many addresses slow the account (a new address waits), yet the right password gets in after the wait', async () => {
      const victim = await sdkSignUp(t, 'throttle-ceiling');
      // Twenty failures from ten addresses: the per-account ceiling.
      for (let n = 0; n < 10; n++) await guess(`203.0.113.${100 + n}`, victim.email, 2);
      const fromNewAddress = await loginFrom('198.51.100.30', victim.email);
      expect(fromNewAddress).toMatchObject({ status: 429, code: 'sign_in_throttled' });
      expect(Number(fromNewAddress.retryAfter)).toBeGreaterThan(0);
      // The attack goes on meanwhile; it does not stretch the new address's wait.
      const wait = Number(fromNewAddress.retryAfter) * 1000;
      clock().advance(wait - 1000);
      expect((await loginFrom('203.0.113.100', victim.email, 'still-guessing-1')).status).toBe(401);
      clock().advance(1000);
      expect((await loginFrom('198.51.100.30', victim.email)).status).toBe(200);
      // Administrators see the failures, not a lock.
      expect(await membersOf(victim.tenantId, victim.accessToken)).toEqual([
        expect.objectContaining({
          user_id: victim.userId,
          email: victim.email,
          role: 'owner',
          failed_sign_ins: 21,
          sign_ins_slowed: true,
        }),
      ]);
    });
  });

  it('logout revokes the refresh token family', async () => {
    const a = await sdkSignUp(t, 'logout');
    unwrap(await anonymous().POST('/auth/logout', { body: { refresh_token: a.refreshToken } }));
    expect((await refresh(a.refreshToken)).response.status).toBe(401);
  });

  it('erasure: the key row goes after UserErased, reads show [erased], sessions end, the email is free', async () => {
    const owner = await sdkSignUp(t, 'erase-owner');
    const person = await sdkSignUp(t, 'erase-me');
    unwrap(await addMember(owner, person.userId, 'member'));
    const ctx = {
      commandId: newId(),
      tenantId: null,
      actor: { type: 'system' as const, id: 'test' },
      requestId: null,
      sourceIp: null,
      correlationId: newId(),
      causationId: null,
      now: new Date(),
    };
    await t.app.get(CommandBus).execute(new ErasePerson(person.userId, ctx));
    const members = await membersOf(owner.tenantId, owner.accessToken);
    expect(members.find((m) => m.user_id === person.userId)).toMatchObject({
      email: '[erased]',
      name: '[erased]',
    });
    expect(await meStatus(withToken(person.accessToken))).toBe(401);
    expect(await meStatus(withKey(person.apiKey))).toBe(401);
    expect((await login(person.email)).response.status).toBe(401);
    unwrap(await register(person.email));
  });

  it('X-Tenant-ID of a tenant the user is not in is 404; a viewer is denied writes; a Deny policy beats the role', async () => {
    const owner = await sdkSignUp(t, 'iamowner');
    const outsider = await sdkSignUp(t, 'outsider');
    const member = await sdkSignUp(t, 'member');

    refusedWith(
      await withToken(outsider.accessToken, owner.tenantId).GET('/auth/keys'),
      404,
      'not_found',
    );

    const ownerJwt = withToken(owner.accessToken);
    const asMember = withToken(member.accessToken, owner.tenantId);
    unwrap(await addMember(owner, member.userId, 'viewer'));
    // viewer: reads yes, writes no
    unwrap(await asMember.GET('/auth/keys'));
    refusedWith(await createKey(asMember, 'nope'), 403, 'forbidden');
    // a viewer cannot manage members either (tenant-level admin route: 403, not 404)
    const manage = await withToken(member.accessToken).POST('/tenants/{id}/members', {
      params: { path: { id: owner.tenantId } },
      body: { user_id: outsider.userId, role: 'viewer' },
    });
    expect(manage.response.status).toBe(403);

    // IAM admin only
    expect((await asMember.GET('/iam/policies')).response.status).toBe(403);
    const actions = unwrap(await ownerJwt.GET('/iam/actions'));
    expect(actions.map((a) => a.action)).toContain('apikey:create');

    const createPolicy = (name: string, effect: 'Allow' | 'Deny', action: string[]) =>
      ownerJwt.POST('/iam/policies', {
        body: { name, statements: [{ effect, action, resource: ['*'] }] },
      });
    const created = await createPolicy('NoKeys', 'Deny', ['apikey:create']);
    const policy = unwrap(created);
    expect(created.response.headers.get('etag')).toBe('W/"0"');
    // An effect the document does not allow, sent on purpose.
    const bad = await conformingHttp(t)
      .post('/iam/policies')
      .set('authorization', `Bearer ${owner.accessToken}`)
      .send({ name: 'Bad', statements: [{ effect: 'Maybe', action: ['x'], resource: ['*'] }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { path: string }) => f.path)).toEqual(
      expect.arrayContaining(['statements[0].effect', 'statements[0].action[0]']),
    );
    const sameName = refusedWith(await createPolicy('NoKeys', 'Allow', ['*']), 409, 'conflict');
    expect(sameName.details).toMatchObject({ field: 'name' });
    const policyPath = { params: { path: { id: policy.id } } };
    unwrap(await ownerJwt.GET('/iam/policies/{id}', policyPath));

    // The owner may create keys until the Deny is attached to them.
    unwrap(await createKey(ownerJwt, 'before'));
    const userPolicy = { params: { path: { userId: owner.userId, policyId: policy.id } } };
    const attach = await ownerJwt.POST('/iam/users/{userId}/policies/{policyId}', userPolicy);
    expect(attach.response.status).toBe(204);
    const attached = unwrap(
      await ownerJwt.GET('/iam/users/{userId}/policies', {
        params: { path: { userId: owner.userId } },
      }),
    );
    expect(attached.map((p) => p.id)).toEqual([policy.id]);
    const denied = refusedWith(await createKey(ownerJwt, 'after'), 403, 'forbidden');
    expect(denied.details).toMatchObject({ reason: 'explicit_deny', policy_id: policy.id });

    expect((await ownerJwt.DELETE('/iam/policies/{id}', policyPath)).response.status).toBe(409);
    const detach = await ownerJwt.DELETE('/iam/users/{userId}/policies/{policyId}', userPolicy);
    expect(detach.response.status).toBe(204);
    unwrap(await createKey(ownerJwt, 'again'));
    expect((await ownerJwt.DELETE('/iam/policies/{id}', policyPath)).response.status).toBe(204);
    refusedWith(await ownerJwt.GET('/iam/policies/{id}', policyPath), 404, 'not_found');
    // A deleted policy's name is free again.
    unwrap(await createPolicy('NoKeys', 'Allow', ['*']));
  });

  it('a Deny on one resource ARN blocks that resource only', async () => {
    const a = await sdkSignUp(t, 'arn');
    const jwt = withToken(a.accessToken);
    const k1 = unwrap(await createKey(jwt, 'k1')).id;
    const k2 = unwrap(await createKey(jwt, 'k2')).id;
    const keyArn = `arn:nimbus:apikey:${a.tenantId}:key/${k1}`;
    const policy = unwrap(
      await jwt.POST('/iam/policies', {
        body: {
          name: 'KeepK1',
          statements: [{ effect: 'Deny', action: ['apikey:revoke'], resource: [keyArn] }],
        },
      }),
    );
    const attach = (policyId: string) =>
      jwt.POST('/iam/users/{userId}/policies/{policyId}', {
        params: { path: { userId: a.userId, policyId } },
      });
    expect((await attach(policy.id)).response.status).toBe(204);
    const denied = refusedWith(await jwt.DELETE('/auth/keys/{id}', keyPath(k1)), 403, 'forbidden');
    expect((denied.details as { resource: string }).resource).toBe(keyArn);
    expect((await jwt.DELETE('/auth/keys/{id}', keyPath(k2))).response.status).toBe(204);
    // A policy that would stop an owner from detaching policies is refused for owners.
    const lockout = unwrap(
      await jwt.POST('/iam/policies', {
        body: {
          name: 'NoIam',
          statements: [{ effect: 'Deny', action: ['iam:*'], resource: ['*'] }],
        },
      }),
    );
    refusedWith(await attach(lockout.id), 409, 'invalid_state');
    const denials = await eventsOfType(t, 'AccessDenied');
    expect(denials.some((d) => d.data.action === 'apikey:revoke' && d.data.status === 403)).toBe(
      true,
    );
  });

  it('switching tenants changes the default scope of JWT calls', async () => {
    const a = await sdkSignUp(t, 'switch');
    const jwt = withToken(a.accessToken);
    const other = unwrap(
      await jwt.POST('/tenants', { body: { name: 'Second', slug: `second-${Date.now()}` } }),
    );
    const switchTo = (client: NimbusClient) =>
      client.POST('/tenants/{id}/switch', { params: { path: { id: other.id } } });
    expect(unwrap(await switchTo(jwt))).toMatchObject({ id: other.id, is_default: true });
    expect(unwrap(await jwt.GET('/me')).tenant?.id).toBe(other.id);
    const stranger = await sdkSignUp(t, 'stranger');
    expect((await switchTo(withToken(stranger.accessToken))).response.status).toBe(404);
  });

  it('unauthenticated calls are 401; admin routes are for operators only', async () => {
    expect(await meStatus(anonymous())).toBe(401);
    expect(await meStatus(withToken('not.a.jwt'))).toBe(401);
    expect(await meStatus(withKey(UNKNOWN_KEY))).toBe(401);
    const a = await sdkSignUp(t, 'notop');
    expect((await withToken(a.accessToken).GET('/admin/projections')).response.status).toBe(403);
    unwrap(await register(OPERATOR));
    const op = unwrap(await login(OPERATOR));
    const status = unwrap(await withToken(op.access_token).GET('/admin/projections'));
    expect(status.map((p) => p.name)).toEqual(
      expect.arrayContaining(['identity.users', 'identity.api_keys']),
    );
    expect((await anonymous().GET('/health')).response.status).toBe(200);
  });

  it('every credential presented is checked: an invalid one is 401, two that disagree are 401', async () => {
    const a = await sdkSignUp(t, 'creds-a');
    const b = await sdkSignUp(t, 'creds-b');
    // Two credentials on one request, on purpose: raw headers rather than an SDK client.
    const me = (headers: Record<string, string>) => conformingHttp(t).get('/me').set(headers);
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const before = await countEvents(t, ['AccessDenied']);
    const refused = async (headers: Record<string, string>, message: RegExp) => {
      const res = await me(headers);
      expect(res.status, JSON.stringify(res.body)).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.body.error.message).toMatch(message);
    };
    // A valid key with an invalid bearer token, or a valid token with an invalid key.
    await refused(
      { 'x-api-key': a.apiKey, authorization: 'Bearer garbage' },
      /access token is invalid/,
    );
    await refused({ ...bearer(a.accessToken), 'x-api-key': UNKNOWN_KEY }, /API key is not valid/);
    await refused({ 'x-api-key': a.apiKey, authorization: 'Basic YTpi' }, /must be "Bearer/);
    // Two valid credentials of different users, whichever carries which.
    await refused({ ...bearer(a.accessToken), 'x-api-key': b.apiKey }, /credentials disagree/);
    await refused({ ...bearer(b.apiKey), 'x-api-key': a.apiKey }, /credentials disagree/);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    // Two credentials of the same user and tenant are fine; so is each one alone.
    const agreeing = await me({ ...bearer(a.accessToken), 'x-api-key': a.apiKey });
    expect(agreeing.status).toBe(200);
    expect(agreeing.body.user.id).toBe(a.userId);
    expect(await meStatus(withKey(a.apiKey))).toBe(200);
    expect(await meStatus(withToken(b.accessToken))).toBe(200);
  });

  it('every identity route declares its access; declared actions are in GET /iam/actions', () => {
    const routes = declaredAccessOfRoutes(
      t.app.get(DiscoveryService),
      t.app.get(MetadataScanner),
      t.app.get(Reflector),
    );
    const identity = routes.filter((r) =>
      /^\/(auth|me|tenants|iam|admin|health|meta)(\/|$)/.test(r.path),
    );
    expect(identity.filter((r) => r.access === 'undeclared')).toEqual([]);
    expect(identity.find((r) => r.path === '/iam/policies' && r.method === 'POST')).toMatchObject({
      access: 'action',
      action: 'iam:createPolicy',
    });
    for (const r of routes) if (r.action) expect(IAM_ACTIONS.has(r.action)).toBe(true);
  });

  it('personal data is encrypted in events', async () => {
    const a = await sdkSignUp(t, 'pii');
    const registered = (await eventsOfType(t, 'UserRegistered')).find(
      (e) => e.stream_id === `user-${a.userId}`,
    );
    expect(JSON.stringify(registered)).not.toContain(a.email);
    expect(registered?.data.email).toMatch(/^pii1\./);
    expect(await countEvents(t)).toBeGreaterThan(0);
  });
});
