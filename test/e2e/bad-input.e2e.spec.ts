/**
 * Bad input on every POST route with a JSON body (walked from /openapi.json): malformed JSON,
 * missing fields, wrong types, unknown fields are 400 naming the field path (malformed JSON is
 * 400 `malformed_json`, the platform's code for it); an oversized body is 413. None appends an
 * event (AccessDenied aside, which is not counted). Calls are made as the owner of tenant A with
 * A's resources in the path, so the guard lets them through to validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  countEvents,
  minimalValue,
  openApiOperations,
  resourceKindOf,
  signUp,
  wrongTypeValue,
  type Account,
  type OpenApiOperation,
  type OpenApiSchema,
} from './identity.helpers';

const BODY_LIMIT = 16 * 1024;

describe('bad input on every POST route (e2e)', () => {
  let t: TestApp;
  let a: Account;
  let posts: OpenApiOperation[] = [];
  let resolve: (s: OpenApiSchema) => OpenApiSchema;

  beforeAll(async () => {
    t = await startTestApp({
      label: 'badinput',
      config: { authRateLimitPerMinute: 100_000, bodyLimitBytes: BODY_LIMIT },
    });
    a = await signUp(t, 'bad-input');
    const walked = await openApiOperations(t);
    resolve = walked.resolve;
    posts = walked.operations.filter(
      (op) =>
        op.method === 'post' && op.bodySchema && (resolve(op.bodySchema).required ?? []).length > 0,
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Path parameters get ids of A's own resources (tenant, user); others a made-up UUID. */
  function urlOf(op: OpenApiOperation): string {
    let url = op.path;
    for (const param of op.pathParams) {
      const kind = resourceKindOf(op.path, param);
      const id =
        kind === 'tenant'
          ? a.tenantId
          : kind === 'user'
            ? a.userId
            : '00000000-0000-4000-8000-000000000000';
      url = url.replace(`{${param}}`, id);
    }
    return url;
  }

  const send = (op: OpenApiOperation, body: string) =>
    t
      .http()
      .post(urlOf(op))
      .set(bearer(a.accessToken))
      .set('content-type', 'application/json')
      .send(body);

  it('finds POST routes with required fields', () => {
    expect(posts.length).toBeGreaterThanOrEqual(9);
    expect(posts.map((op) => op.path)).toEqual(
      expect.arrayContaining([
        '/auth/register',
        '/auth/login',
        '/auth/refresh',
        '/auth/forgot-password',
        '/auth/reset-password',
        '/auth/keys',
        '/tenants',
        '/tenants/{id}/members',
        '/iam/policies',
      ]),
    );
  });

  it('rejects malformed JSON, missing fields, wrong types, unknown fields and oversized bodies', async () => {
    const failures: string[] = [];
    const before = await countEvents(t, ['AccessDenied']);
    for (const op of posts) {
      const name = `POST ${op.path}`;
      const schema = resolve(op.bodySchema as OpenApiSchema);
      const required = schema.required ?? [];
      const valid = minimalValue(schema, resolve, { uuid: a.userId }) as Record<string, unknown>;

      const malformed = await send(op, '{"name": ');
      if (malformed.status !== 400 || malformed.body.error?.code !== 'malformed_json') {
        failures.push(
          `${name} malformed JSON: ${malformed.status} ${JSON.stringify(malformed.body)}`,
        );
      }

      const missing = await send(op, '{}');
      const missingPaths = (missing.body.error?.details?.fields ?? []).map(
        (f: { path: string }) => f.path,
      );
      if (
        missing.status !== 400 ||
        missing.body.error.code !== 'validation_error' ||
        !required.every((r) => missingPaths.includes(r))
      ) {
        failures.push(`${name} missing fields: ${missing.status} ${JSON.stringify(missing.body)}`);
      }

      for (const field of required) {
        const wrong = {
          ...valid,
          [field]: wrongTypeValue(schema.properties?.[field] ?? {}, resolve),
        };
        const res = await send(op, JSON.stringify(wrong));
        const paths = (res.body.error?.details?.fields ?? []).map((f: { path: string }) => f.path);
        if (
          res.status !== 400 ||
          res.body.error.code !== 'validation_error' ||
          !paths.some(
            (p: string) => p === field || p.startsWith(`${field}.`) || p.startsWith(`${field}[`),
          )
        ) {
          failures.push(
            `${name} wrong type for ${field}: ${res.status} ${JSON.stringify(res.body)}`,
          );
        }
      }

      const unknown = await send(op, JSON.stringify({ ...valid, unexpected_field: 1 }));
      const unknownPaths = (unknown.body.error?.details?.fields ?? []).map(
        (f: { path: string }) => f.path,
      );
      if (unknown.status !== 400 || !unknownPaths.includes('unexpected_field')) {
        failures.push(`${name} unknown field: ${unknown.status} ${JSON.stringify(unknown.body)}`);
      }

      const oversized = await send(
        op,
        JSON.stringify({ ...valid, padding: 'x'.repeat(BODY_LIMIT) }),
      );
      if (oversized.status !== 413 || oversized.body.error?.code !== 'payload_too_large') {
        failures.push(`${name} oversized: ${oversized.status} ${JSON.stringify(oversized.body)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
  });
});
