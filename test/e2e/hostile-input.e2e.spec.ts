/**
 * Input PostgreSQL cannot take, caught before it reaches the database: a NUL character (or an
 * unpaired surrogate) in a body string, a query value or a path parameter is 400
 * `validation_error` naming the field; a path id that is not a UUID is 404 `not_found`; JSON
 * nested deeper than the parser's limit is 400; an instant with an impossible time-zone offset is
 * 400. None of them appends an event.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, countEvents, signUp, type Account } from './identity.helpers';

const NUL = '\u0000';
const SOME_UUID = '00000000-0000-4000-8000-000000000000';

interface Answer {
  status: number;
  body: { error?: { code?: string; details?: { fields?: Array<{ path: string }> } } };
}

describe('input the database cannot store (e2e)', () => {
  let t: TestApp;
  let a: Account;

  beforeAll(async () => {
    t = await startTestApp({
      label: 'hostile',
      config: { authRateLimitPerMinute: 100_000 },
    });
    a = await signUp(t, 'hostile');
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (path: string, body: unknown): Promise<Answer> =>
    t
      .http()
      .post(path)
      .set(bearer(a.accessToken))
      .send(body as object);
  const get = (path: string): Promise<Answer> => t.http().get(path).set(bearer(a.accessToken));
  const fieldsOf = (res: Answer) => (res.body.error?.details?.fields ?? []).map((f) => f.path);

  function expectRejectedField(res: Answer, field: string): void {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error?.code).toBe('validation_error');
    expect(fieldsOf(res)).toContain(field);
  }

  it('a NUL in a body string is 400 naming the field', async () => {
    const before = await countEvents(t, ['AccessDenied']);
    const statements = [{ effect: 'Allow', action: ['compute:list'], resource: ['*'] }];
    expectRejectedField(await post('/iam/policies', { name: `bad${NUL}name`, statements }), 'name');
    expectRejectedField(
      await post('/iam/policies', { name: 'Fine', description: `x${NUL}`, statements }),
      'description',
    );
    expectRejectedField(
      await post('/iam/policies', {
        name: 'Fine',
        statements: [{ effect: 'Allow', action: [`compute:li${NUL}st`], resource: ['*'] }],
      }),
      'statements.0.action.0',
    );
    const launch = { name: 'nul', image: 'busybox', instance_type: 'basic-1' };
    expectRejectedField(await post('/instances', { ...launch, image: `busy${NUL}box` }), 'image');
    expectRejectedField(
      await post('/instances', { ...launch, user_data: `#!/bin/sh${NUL}` }),
      'user_data',
    );
    expectRejectedField(
      await post('/instances', { ...launch, tags: { [`k${NUL}`]: 'v' } }),
      'tags',
    );
    expectRejectedField(await post('/auth/register', { email: `a${NUL}@x.io` }), 'email');
    // An unpaired surrogate cannot be stored as UTF-8 either.
    expectRejectedField(
      await post('/iam/policies', { name: 'Fine', description: '\ud800', statements }),
      'description',
    );
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });

  it('a NUL in a query value is 400 naming the parameter', async () => {
    for (const [path, field] of [
      ['/events?type=%00', 'type'],
      ['/events?resource=a%00b', 'resource'],
      ['/audit?resource=%00', 'resource'],
      ['/audit?actor=%00', 'actor'],
      ['/logs?search=%00', 'search'],
      ['/instances?status=%00', 'status'],
      ['/images?name=%00', 'name'],
    ] as const) {
      expectRejectedField(await get(path), field);
    }
  });

  it('a NUL or a non-UUID in a path id is 404, never a database error', async () => {
    for (const path of [
      '/instances/%00',
      '/instances/0',
      `/instances/${SOME_UUID}%00`,
      '/reports/%00',
      '/reports/0',
      '/webhooks/%00',
      '/webhooks/0/deliveries',
      '/iam/policies/%00',
      '/iam/policies/not-an-id',
      '/volumes/%00',
      '/images/%00',
      '/logs/%00',
      '/tenants/%00/members',
      `/iam/users/${SOME_UUID}/policies`,
    ]) {
      const res = await get(path);
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(404);
      expect(res.body.error?.code, path).toBe('not_found');
    }
    const before = await countEvents(t, ['AccessDenied']);
    for (const path of ['/instances/0/stop', `/iam/users/${a.userId}/policies/0`]) {
      const res = await post(path, {});
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(404);
      expect(res.body.error?.code, path).toBe('not_found');
    }
    const del = await t.http().delete('/webhooks/%00').set(bearer(a.accessToken));
    expect(del.status).toBe(404);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });

  it('JSON nested deeper than the limit is 400, even 3,000 levels deep', async () => {
    for (const depth of [65, 3_000, 100_000]) {
      const body = `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      for (const path of ['/iam/policies', '/instances', '/auth/login']) {
        const res = await t
          .http()
          .post(path)
          .set(bearer(a.accessToken))
          .set('content-type', 'application/json')
          .send(body);
        expect(res.status, `${path} depth ${depth}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(res.body.error?.code).toBe('validation_error');
        expect(res.body.error?.message).toMatch(/nested/);
      }
    }
    // Brackets inside strings do not count.
    const res = await post('/iam/policies', {
      name: 'Brackets',
      description: '['.repeat(500),
      statements: [{ effect: 'Allow', action: ['compute:list'], resource: ['*'] }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it('an instant with an out-of-range time-zone offset is 400', async () => {
    for (const param of ['end_time', 'start_time']) {
      for (const value of [
        '2026-01-01T00:00:00+24:00',
        '2026-01-01T00:00:00+99:00',
        '2026-13-01',
      ]) {
        expectRejectedField(await get(`/logs?${param}=${encodeURIComponent(value)}`), param);
      }
    }
    // +16:00 is a valid RFC 3339 offset that PostgreSQL itself would refuse.
    for (const value of ['2026-01-01T00:00:00+14:00', '2026-01-01T00:00:00+16:00']) {
      const ok = await get(`/logs?end_time=${encodeURIComponent(value)}`);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    }
  });

  describe('requests the router or the media type refuses', () => {
    it('an over-long path segment is 414 with the envelope and X-Request-ID, without the path', async () => {
      const long = 'x'.repeat(300);
      const res = await t.http().get(`/instances/${long}`).set(bearer(a.accessToken));
      expect(res.status).toBe(414);
      expect(res.body.error.code).toBe('uri_too_long');
      expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
      expect(res.headers['x-request-id']).toBeTruthy();
      expect(JSON.stringify(res.body)).not.toContain(long);
    });

    it('headers over the size limit are 431 with the envelope and X-Request-ID, and the connection closes', async () => {
      const { status, headers, body } = await new Promise<{
        status: number | undefined;
        headers: IncomingHttpHeaders;
        body: string;
      }>((resolve, reject) => {
        const req = httpRequest(`${t.baseUrl}/health`, {
          headers: { 'x-padding': 'p'.repeat(20_000) },
        });
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode, headers: res.headers, body: text }),
          );
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(431);
      expect(headers.connection).toBe('close');
      const envelope = JSON.parse(body) as { error: { code: string; request_id: string } };
      expect(envelope.error.code).toBe('headers_too_large');
      expect(envelope.error.request_id).toBe(headers['x-request-id']);
    });

    it('a malformed percent-encoding is 400 with the envelope', async () => {
      const res = await t.http().get('/instances/%E0%A4%A').set(bearer(a.accessToken));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.headers['x-request-id']).toBeTruthy();
    });

    it('a known path with a wrong method is 405 with Allow; an unknown path stays 404', async () => {
      const res = await t
        .http()
        .put(`/instances/${SOME_UUID}`)
        .set(bearer(a.accessToken))
        .send({ name: 'x' });
      expect(res.status, JSON.stringify(res.body)).toBe(405);
      expect(res.body.error.code).toBe('method_not_allowed');
      expect(res.headers.allow).toBe('DELETE, GET, HEAD, PATCH');
      const post = await t.http().post('/health').send({});
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, HEAD');
      const unknown = await t.http().put('/no-such-thing');
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('route_not_found');
    });

    it('a multipart body on a JSON route is 415; JSON on the upload route too', async () => {
      const before = await countEvents(t, ['AccessDenied']);
      const policies = await t
        .http()
        .post('/iam/policies')
        .set(bearer(a.accessToken))
        .field('name', 'Multipart')
        .field('statements', '[]');
      expect(policies.status, JSON.stringify(policies.body)).toBe(415);
      expect(policies.body.error.code).toBe('unsupported_media_type');
      const image = await post('/images', { name: 'media-type-image' });
      expect(image.status).toBe(201);
      const imageId = (image.body as { id: string }).id;
      const stop = await t
        .http()
        .post(`/images/${imageId}/upload`)
        .set(bearer(a.accessToken))
        .send({ file: 'not a file' });
      expect(stop.status, JSON.stringify(stop.body)).toBe(415);
      const delImage = await t
        .http()
        .delete(`/images/${imageId}`)
        .set(bearer(a.accessToken))
        .field('x', '1');
      expect(delImage.status).toBe(415);
      const text = await t
        .http()
        .post('/iam/policies')
        .set(bearer(a.accessToken))
        .set('content-type', 'text/plain')
        .send('name=x');
      expect(text.status).toBe(415);
      expect(await countEvents(t, ['AccessDenied'])).toBe(before + 1);
    });
  });
});
