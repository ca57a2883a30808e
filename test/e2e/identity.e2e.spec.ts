import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/common/ids';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { ErasePerson } from '../../src/identity/application/accounts';
import { Clock } from '../../src/platform/clock';
import { declaredAccessOfRoutes } from '../../src/identity/auth/route-access';
import { IAM_ACTIONS } from '../../src/identity/domain/iam-actions';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import {
  PASSWORD,
  bearer,
  countEvents,
  eventsOfType,
  login,
  register,
  resetTokenFromOutbox,
  signUp,
  uniqueEmail,
} from './identity.helpers';

const OPERATOR = 'operator@example.com';

describe('identity (e2e)', () => {
  let t: TestApp;

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
    const reg = await t
      .http()
      .post('/auth/register')
      .send({ email, password: PASSWORD, name: 'Flow User' });
    expect(reg.status).toBe(201);
    expect(reg.body).toEqual({ message: 'user created successfully', user_id: expect.any(String) });

    const again = await t
      .http()
      .post('/auth/register')
      .send({ email: email.toUpperCase(), password: PASSWORD, name: 'X' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('email_taken');

    const signIn = await login(t, email);
    expect(signIn.status).toBe(200);
    expect(signIn.body).toMatchObject({
      user: { id: reg.body.user_id, email, name: 'Flow User' },
      api_key: expect.stringMatching(/^nimbus_/),
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      expires_in: 900,
    });
    const jwt = bearer(signIn.body.access_token);

    const me = await conformingHttp(t).get('/me').set(jwt);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      user: { id: reg.body.user_id, email },
      roles: ['owner'],
      credential: { type: 'jwt' },
    });

    // The session key works at once, bound to the personal tenant.
    const viaSessionKey = await conformingHttp(t).get('/me').set('x-api-key', signIn.body.api_key);
    expect(viaSessionKey.status).toBe(200);
    expect(viaSessionKey.body.tenant.id).toBe(me.body.tenant.id);

    const tenant = await t
      .http()
      .post('/tenants')
      .set(jwt)
      .send({ name: 'Acme Corp', slug: `acme-${Date.now()}` });
    expect(tenant.status, JSON.stringify(tenant.body)).toBe(201);
    expect(tenant.body).toMatchObject({
      name: 'Acme Corp',
      role: 'owner',
      owner_id: reg.body.user_id,
    });
    expect(tenant.headers.location).toBe(`/tenants/${tenant.body.id}`);
    const dupSlug = await t
      .http()
      .post('/tenants')
      .set(jwt)
      .send({ name: 'Other', slug: tenant.body.slug });
    expect(dupSlug.status).toBe(409);
    const badSlug = await conformingHttp(t)
      .post('/tenants')
      .set(jwt)
      .send({ name: 'Other', slug: '-Bad_' });
    expect(badSlug.status).toBe(400);
    expect(badSlug.body.error.details.fields[0].path).toBe('slug');

    const tenants = await conformingHttp(t).get('/tenants').set(jwt);
    expect(tenants.body.map((x: { id: string }) => x.id)).toContain(tenant.body.id);

    const inAcme = { ...jwt, 'x-tenant-id': tenant.body.id };
    const created = await conformingHttp(t)
      .post('/auth/keys')
      .set(inAcme)
      .send({ name: 'Production Key' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(String),
      user_id: reg.body.user_id,
      tenant_id: tenant.body.id,
      name: 'Production Key',
      key: expect.stringMatching(/^nimbus_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$/),
      created_at: expect.any(String),
      last_used: null,
    });
    const key = created.body.key as string;

    const listed = await conformingHttp(t).get('/auth/keys').set(inAcme);
    expect(listed.status).toBe(200);
    expect(listed.body.map((k: { id: string }) => k.id)).toEqual([created.body.id]);
    expect(JSON.stringify(listed.body)).not.toContain(key);

    const used = await conformingHttp(t).get('/me').set('x-api-key', key);
    expect(used.status).toBe(200);
    expect(used.body).toMatchObject({
      tenant: { id: tenant.body.id },
      credential: { type: 'api_key', api_key_id: created.body.id },
    });
    const afterUse = await conformingHttp(t).get('/auth/keys').set(inAcme);
    expect(afterUse.body[0].last_used).toEqual(expect.any(String));
    const usedAsBearer = await conformingHttp(t).get('/me').set(bearer(key));
    expect(usedAsBearer.status).toBe(200);

    const rotated = await conformingHttp(t)
      .post(`/auth/keys/${created.body.id}/rotate`)
      .set(inAcme);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body.key).not.toBe(key);
    const oldKey = await conformingHttp(t).get('/me').set('x-api-key', key);
    expect(oldKey.status).toBe(401);
    expect(oldKey.body.error.code).toBe('unauthorized');
    expect((await conformingHttp(t).get('/me').set('x-api-key', rotated.body.key)).status).toBe(
      200,
    );

    const regenerated = await conformingHttp(t)
      .post(`/auth/keys/${created.body.id}/regenerate`)
      .set(inAcme);
    expect(regenerated.status).toBe(200);
    expect((await conformingHttp(t).get('/me').set('x-api-key', rotated.body.key)).status).toBe(
      401,
    );

    const revoked = await conformingHttp(t).delete(`/auth/keys/${created.body.id}`).set(inAcme);
    expect(revoked.status).toBe(204);
    expect((await conformingHttp(t).get('/me').set('x-api-key', regenerated.body.key)).status).toBe(
      401,
    );
    expect(
      (await conformingHttp(t).delete(`/auth/keys/${created.body.id}`).set(inAcme)).status,
    ).toBe(404);

    // The denied uses were recorded for the audit log.
    const denials = await eventsOfType(t, 'AccessDenied');
    expect(denials.length).toBeGreaterThanOrEqual(3);
    expect(denials[0].data).toMatchObject({ status: 401, method: 'GET', path: '/me' });
  });

  it('two registrations of one email at once: exactly one wins (claim stream), the other 409', async () => {
    const email = uniqueEmail('race');
    const attempts = await Promise.all(
      [0, 1, 2].map(() =>
        conformingHttp(t).post('/auth/register').send({ email, password: PASSWORD, name: 'Racer' }),
      ),
    );
    expect(attempts.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(
      attempts.filter((r) => r.status === 409).every((r) => r.body.error.code === 'email_taken'),
    ).toBe(true);
    expect((await login(t, email)).status).toBe(200);
  });

  it('a user API key cannot manage keys or tenants unless its user is a tenant admin', async () => {
    const owner = await signUp(t, 'keyowner');
    const viewer = await signUp(t, 'keyviewer');
    const add = await t
      .http()
      .post(`/tenants/${owner.tenantId}/members`)
      .set(bearer(owner.accessToken))
      .send({ user_id: viewer.userId, role: 'viewer' });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    const viewerJwtInOwnerTenant = { ...bearer(viewer.accessToken), 'x-tenant-id': owner.tenantId };
    const viewerKey = await t
      .http()
      .post('/auth/keys')
      .set(viewerJwtInOwnerTenant)
      .send({ name: 'viewer key' });
    // Viewers may not create keys (apikey:create is a write).
    expect(viewerKey.status).toBe(403);
    // The owner's API key may manage keys: owners are tenant admins.
    const ownerKey = await t
      .http()
      .post('/auth/keys')
      .set('x-api-key', owner.apiKey)
      .send({ name: 'by key' });
    expect(ownerKey.status).toBe(201);
  });

  it('refresh rotates; replaying a used refresh token revokes the whole family', async () => {
    const a = await signUp(t, 'refresh');
    const first = await conformingHttp(t)
      .post('/auth/refresh')
      .send({ refresh_token: a.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
    });
    expect(first.body.refresh_token).not.toBe(a.refreshToken);
    expect((await conformingHttp(t).get('/me').set(bearer(first.body.access_token))).status).toBe(
      200,
    );

    const replay = await conformingHttp(t)
      .post('/auth/refresh')
      .send({ refresh_token: a.refreshToken });
    expect(replay.status).toBe(401);
    // The thief detection also killed the newer token of the same family.
    const legit = await t
      .http()
      .post('/auth/refresh')
      .send({ refresh_token: first.body.refresh_token });
    expect(legit.status).toBe(401);
    const revoked = await eventsOfType(t, 'RefreshTokenFamilyRevoked');
    expect(
      revoked.some((e) => e.stream_id === `user-${a.userId}` && e.data.reason === 'reuse_detected'),
    ).toBe(true);

    expect(
      (await conformingHttp(t).post('/auth/refresh').send({ refresh_token: 'garbage' })).status,
    ).toBe(401);
  });

  it('forgot-password mails a token through the outbox; reset ends every session', async () => {
    const a = await signUp(t, 'reset');
    const unknown = await t
      .http()
      .post('/auth/forgot-password')
      .send({ email: uniqueEmail('nobody') });
    const known = await conformingHttp(t).post('/auth/forgot-password').send({ email: a.email });
    expect(unknown.status).toBe(200);
    expect(known.status).toBe(200);
    expect(known.body).toEqual({ message: 'If the email exists, a reset token has been sent.' });
    expect(unknown.body).toEqual(known.body);

    const token = resetTokenFromOutbox(t, a.email);
    const weak = await conformingHttp(t)
      .post('/auth/reset-password')
      .send({ token, new_password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.error.details.fields[0].path).toBe('new_password');

    const newPassword = 'another-horse-8-battery';
    const reset = await t
      .http()
      .post('/auth/reset-password')
      .send({ token, new_password: newPassword });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ message: 'password updated successfully' });

    // Single use.
    const reuse = await t
      .http()
      .post('/auth/reset-password')
      .send({ token, new_password: newPassword });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error.details.fields[0].path).toBe('token');
    // Every session is over: the JWT, the session key, the refresh token.
    expect((await conformingHttp(t).get('/me').set(bearer(a.accessToken))).status).toBe(401);
    expect((await conformingHttp(t).get('/me').set('x-api-key', a.apiKey)).status).toBe(401);
    expect(
      (await conformingHttp(t).post('/auth/refresh').send({ refresh_token: a.refreshToken }))
        .status,
    ).toBe(401);
    expect((await login(t, a.email)).status).toBe(401);
    expect((await login(t, a.email, newPassword)).status).toBe(200);
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
      const victim = await signUp(t, 'throttle');
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
      const known = await signUp(t, 'throttle-known');
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
      const victim = await signUp(t, 'throttle-ceiling');
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
      const members = await t
        .http()
        .get(`/tenants/${victim.tenantId}/members`)
        .set(bearer(victim.accessToken));
      expect(members.status).toBe(200);
      expect(members.body).toEqual([
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
    const a = await signUp(t, 'logout');
    expect(
      (await conformingHttp(t).post('/auth/logout').send({ refresh_token: a.refreshToken })).status,
    ).toBe(200);
    expect(
      (await conformingHttp(t).post('/auth/refresh').send({ refresh_token: a.refreshToken }))
        .status,
    ).toBe(401);
  });

  it('erasure: the key row goes after UserErased, reads show [erased], sessions end, the email is free', async () => {
    const owner = await signUp(t, 'erase-owner');
    const person = await signUp(t, 'erase-me');
    const add = await t
      .http()
      .post(`/tenants/${owner.tenantId}/members`)
      .set(bearer(owner.accessToken))
      .send({ user_id: person.userId, role: 'member' });
    expect(add.status).toBe(201);
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
    const members = await t
      .http()
      .get(`/tenants/${owner.tenantId}/members`)
      .set(bearer(owner.accessToken));
    expect(
      members.body.find((m: { user_id: string }) => m.user_id === person.userId),
    ).toMatchObject({
      email: '[erased]',
      name: '[erased]',
    });
    expect((await conformingHttp(t).get('/me').set(bearer(person.accessToken))).status).toBe(401);
    expect((await conformingHttp(t).get('/me').set('x-api-key', person.apiKey)).status).toBe(401);
    expect((await login(t, person.email)).status).toBe(401);
    await register(t, person.email);
  });

  it('X-Tenant-ID of a tenant the user is not in is 404; a viewer is denied writes; a Deny policy beats the role', async () => {
    const owner = await signUp(t, 'iamowner');
    const outsider = await signUp(t, 'outsider');
    const member = await signUp(t, 'member');

    const foreign = await t
      .http()
      .get('/auth/keys')
      .set({ ...bearer(outsider.accessToken), 'x-tenant-id': owner.tenantId });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');

    const ownerJwt = bearer(owner.accessToken);
    const asMember = { ...bearer(member.accessToken), 'x-tenant-id': owner.tenantId };
    expect(
      (
        await t
          .http()
          .post(`/tenants/${owner.tenantId}/members`)
          .set(ownerJwt)
          .send({ user_id: member.userId, role: 'viewer' })
      ).status,
    ).toBe(201);
    // viewer: reads yes, writes no
    expect((await conformingHttp(t).get('/auth/keys').set(asMember)).status).toBe(200);
    const write = await conformingHttp(t).post('/auth/keys').set(asMember).send({ name: 'nope' });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('forbidden');
    // a viewer cannot manage members either (tenant-level admin route: 403, not 404)
    const manage = await t
      .http()
      .post(`/tenants/${owner.tenantId}/members`)
      .set(bearer(member.accessToken))
      .send({ user_id: outsider.userId, role: 'viewer' });
    expect(manage.status).toBe(403);

    // IAM admin only
    expect((await conformingHttp(t).get('/iam/policies').set(asMember)).status).toBe(403);
    const actions = await conformingHttp(t).get('/iam/actions').set(ownerJwt);
    expect(actions.status).toBe(200);
    expect(actions.body.map((a: { action: string }) => a.action)).toContain('apikey:create');

    const policy = await t
      .http()
      .post('/iam/policies')
      .set(ownerJwt)
      .send({
        name: 'NoKeys',
        statements: [{ effect: 'Deny', action: ['apikey:create'], resource: ['*'] }],
      });
    expect(policy.status, JSON.stringify(policy.body)).toBe(201);
    expect(policy.headers.etag).toBe('W/"0"');
    const bad = await t
      .http()
      .post('/iam/policies')
      .set(ownerJwt)
      .send({
        name: 'Bad',
        statements: [{ effect: 'Maybe', action: ['x'], resource: ['*'] }],
      });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { path: string }) => f.path)).toEqual(
      expect.arrayContaining(['statements[0].effect', 'statements[0].action[0]']),
    );
    const sameName = await t
      .http()
      .post('/iam/policies')
      .set(ownerJwt)
      .send({ name: 'NoKeys', statements: [{ effect: 'Allow', action: ['*'], resource: ['*'] }] });
    expect(sameName.status).toBe(409);
    expect(sameName.body.error).toMatchObject({ code: 'conflict', details: { field: 'name' } });
    expect(
      (await conformingHttp(t).get(`/iam/policies/${policy.body.id}`).set(ownerJwt)).status,
    ).toBe(200);

    // The owner may create keys until the Deny is attached to them.
    expect(
      (await conformingHttp(t).post('/auth/keys').set(ownerJwt).send({ name: 'before' })).status,
    ).toBe(201);
    const attach = await t
      .http()
      .post(`/iam/users/${owner.userId}/policies/${policy.body.id}`)
      .set(ownerJwt);
    expect(attach.status).toBe(204);
    const attached = await conformingHttp(t)
      .get(`/iam/users/${owner.userId}/policies`)
      .set(ownerJwt);
    expect(attached.body.map((p: { id: string }) => p.id)).toEqual([policy.body.id]);
    const denied = await conformingHttp(t).post('/auth/keys').set(ownerJwt).send({ name: 'after' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.details).toMatchObject({
      reason: 'explicit_deny',
      policy_id: policy.body.id,
    });

    expect(
      (await conformingHttp(t).delete(`/iam/policies/${policy.body.id}`).set(ownerJwt)).status,
    ).toBe(409);
    expect(
      (
        await conformingHttp(t)
          .delete(`/iam/users/${owner.userId}/policies/${policy.body.id}`)
          .set(ownerJwt)
      ).status,
    ).toBe(204);
    expect(
      (await conformingHttp(t).post('/auth/keys').set(ownerJwt).send({ name: 'again' })).status,
    ).toBe(201);
    expect(
      (await conformingHttp(t).delete(`/iam/policies/${policy.body.id}`).set(ownerJwt)).status,
    ).toBe(204);
    expect(
      (await conformingHttp(t).get(`/iam/policies/${policy.body.id}`).set(ownerJwt)).status,
    ).toBe(404);
    // A deleted policy's name is free again.
    const reused = await t
      .http()
      .post('/iam/policies')
      .set(ownerJwt)
      .send({ name: 'NoKeys', statements: [{ effect: 'Allow', action: ['*'], resource: ['*'] }] });
    expect(reused.status, JSON.stringify(reused.body)).toBe(201);
  });

  it('a Deny on one resource ARN blocks that resource only', async () => {
    const a = await signUp(t, 'arn');
    const jwt = bearer(a.accessToken);
    const k1 = (await conformingHttp(t).post('/auth/keys').set(jwt).send({ name: 'k1' })).body
      .id as string;
    const k2 = (await conformingHttp(t).post('/auth/keys').set(jwt).send({ name: 'k2' })).body
      .id as string;
    const policy = await t
      .http()
      .post('/iam/policies')
      .set(jwt)
      .send({
        name: 'KeepK1',
        statements: [
          {
            effect: 'Deny',
            action: ['apikey:revoke'],
            resource: [`arn:nimbus:apikey:${a.tenantId}:key/${k1}`],
          },
        ],
      });
    expect(policy.status).toBe(201);
    expect(
      (await conformingHttp(t).post(`/iam/users/${a.userId}/policies/${policy.body.id}`).set(jwt))
        .status,
    ).toBe(204);
    const denied = await conformingHttp(t).delete(`/auth/keys/${k1}`).set(jwt);
    expect(denied.status).toBe(403);
    expect(denied.body.error.details.resource).toBe(`arn:nimbus:apikey:${a.tenantId}:key/${k1}`);
    expect((await conformingHttp(t).delete(`/auth/keys/${k2}`).set(jwt)).status).toBe(204);
    // A policy that would stop an owner from detaching policies is refused for owners.
    const lockout = await t
      .http()
      .post('/iam/policies')
      .set(jwt)
      .send({
        name: 'NoIam',
        statements: [{ effect: 'Deny', action: ['iam:*'], resource: ['*'] }],
      });
    const refused = await t
      .http()
      .post(`/iam/users/${a.userId}/policies/${lockout.body.id}`)
      .set(jwt);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('invalid_state');
    const denials = await eventsOfType(t, 'AccessDenied');
    expect(denials.some((d) => d.data.action === 'apikey:revoke' && d.data.status === 403)).toBe(
      true,
    );
  });

  it('switching tenants changes the default scope of JWT calls', async () => {
    const a = await signUp(t, 'switch');
    const jwt = bearer(a.accessToken);
    const other = await t
      .http()
      .post('/tenants')
      .set(jwt)
      .send({ name: 'Second', slug: `second-${Date.now()}` });
    expect(other.status).toBe(201);
    const sw = await conformingHttp(t).post(`/tenants/${other.body.id}/switch`).set(jwt);
    expect(sw.status).toBe(200);
    expect(sw.body).toMatchObject({ id: other.body.id, is_default: true });
    expect((await conformingHttp(t).get('/me').set(jwt)).body.tenant.id).toBe(other.body.id);
    const stranger = await signUp(t, 'stranger');
    expect(
      (
        await conformingHttp(t)
          .post(`/tenants/${other.body.id}/switch`)
          .set(bearer(stranger.accessToken))
      ).status,
    ).toBe(404);
  });

  it('unauthenticated calls are 401; admin routes are for operators only', async () => {
    expect((await conformingHttp(t).get('/me')).status).toBe(401);
    expect((await conformingHttp(t).get('/me').set(bearer('not.a.jwt'))).status).toBe(401);
    expect(
      (
        await t
          .http()
          .get('/me')
          .set('x-api-key', 'nimbus_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB')
      ).status,
    ).toBe(401);
    const a = await signUp(t, 'notop');
    expect(
      (await conformingHttp(t).get('/admin/projections').set(bearer(a.accessToken))).status,
    ).toBe(403);
    await register(t, OPERATOR);
    const op = await login(t, OPERATOR);
    const status = await conformingHttp(t)
      .get('/admin/projections')
      .set(bearer(op.body.access_token));
    expect(status.status).toBe(200);
    expect(status.body.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['identity.users', 'identity.api_keys']),
    );
    expect((await conformingHttp(t).get('/health')).status).toBe(200);
  });

  it('every credential presented is checked: an invalid one is 401, two that disagree are 401', async () => {
    const a = await signUp(t, 'creds-a');
    const b = await signUp(t, 'creds-b');
    const me = (headers: Record<string, string>) => conformingHttp(t).get('/me').set(headers);
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
    await refused(
      {
        ...bearer(a.accessToken),
        'x-api-key': 'nimbus_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
      },
      /API key is not valid/,
    );
    await refused({ 'x-api-key': a.apiKey, authorization: 'Basic YTpi' }, /must be "Bearer/);
    // Two valid credentials of different users, whichever carries which.
    await refused({ ...bearer(a.accessToken), 'x-api-key': b.apiKey }, /credentials disagree/);
    await refused({ ...bearer(b.apiKey), 'x-api-key': a.apiKey }, /credentials disagree/);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    // Two credentials of the same user and tenant are fine; so is each one alone.
    const agreeing = await me({ ...bearer(a.accessToken), 'x-api-key': a.apiKey });
    expect(agreeing.status).toBe(200);
    expect(agreeing.body.user.id).toBe(a.userId);
    expect((await me({ 'x-api-key': a.apiKey })).status).toBe(200);
    expect((await me(bearer(b.accessToken))).status).toBe(200);
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
    const a = await signUp(t, 'pii');
    const registered = (await eventsOfType(t, 'UserRegistered')).find(
      (e) => e.stream_id === `user-${a.userId}`,
    );
    expect(JSON.stringify(registered)).not.toContain(a.email);
    expect(registered?.data.email).toMatch(/^pii1\./);
    expect(await countEvents(t)).toBeGreaterThan(0);
  });
});
