import { Body, Controller, Get, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setEtag } from '../../src/common/etag';
import { Public } from '../../src/identity/auth/decorators';
import { AppError } from '../../src/common/errors/app-error';
import { ERROR_CODES } from '../../src/common/errors/error-codes';
import { ApiErrors } from '../../src/common/errors/error-envelope';
import { PageQuery, paginate, parsePage } from '../../src/common/pagination';
import { Ctx } from '../../src/common/request-context';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import type { CommandContext } from '../../src/kernel/command-context';
import type { Decider } from '../../src/kernel/decider';
import { EVENT_STORE, type EventStore } from '../../src/eventstore/event-store';
import { unwrap } from '../../src/sdk/client';
import { startTestApp, type TestApp } from '../support/app';
import { sdkFor } from '../support/sdk';

class VolumeDto {
  @IsString()
  mount_path!: string;

  @IsInt()
  @Min(1)
  size_gb!: number;
}

class CreateThingDto {
  @IsString()
  name!: string;

  @IsOptional()
  @IsInt()
  replicas?: number;

  @IsOptional()
  @ValidateNested({ each: true })
  @Type(() => VolumeDto)
  volumes?: VolumeDto[];
}

/** Lets a test hold a request open until it says so (no sleeping). */
class Gate {
  private release: (() => void) | undefined;
  entered: Promise<void> = Promise.resolve();
  private signalEntered: (() => void) | undefined;
  close(): void {
    this.entered = new Promise((r) => (this.signalEntered = r));
  }
  async pass(): Promise<void> {
    if (!this.signalEntered) return;
    const wait = new Promise<void>((r) => (this.release = r));
    this.signalEntered();
    await wait;
  }
  open(): void {
    this.signalEntered = undefined;
    this.release?.();
  }
}

const calls = { create: 0, slow: 0, fail: 0 };
const gate = new Gate();
let lastContext: CommandContext | undefined;

@Public()
@Controller('test/things')
class ThingsTestController {
  @Post()
  @ApiErrors('validation_error', 'conflict')
  create(
    @Body() body: CreateThingDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    calls.create += 1;
    lastContext = ctx;
    setEtag(reply, 0);
    void reply.header('location', `/test/things/${calls.create}`);
    return { id: calls.create, name: body.name, command_id: ctx.commandId };
  }

  @Post('slow')
  async slow(@Body() body: CreateThingDto) {
    calls.slow += 1;
    await gate.pass();
    return { name: body.name };
  }

  @Post('fail')
  fail() {
    calls.fail += 1;
    if (calls.fail === 1) throw AppError.invalidState('first attempt fails');
    return { attempt: calls.fail };
  }

  @Get('boom')
  boom(): never {
    throw new Error('secret internal detail');
  }

  @Get()
  list(@Query() query: PageQuery) {
    const all = Array.from({ length: 7 }, (_, i) => ({ id: i + 1 }));
    const page = parsePage<number>(query, { defaultLimit: 3 });
    const rows = all
      .filter((r) => page.after === null || r.id > page.after)
      .slice(0, page.limit + 1);
    return paginate(rows, page, (r) => r.id);
  }
}

type CounterEvent = { type: 'CounterIncremented'; data: { by: number } };
const counterDecider: Decider<{ by: number }, CounterEvent, { value: number }> = {
  category: 'testcounter',
  initialState: () => ({ value: 0 }),
  evolve: (state, event) => ({ value: state.value + event.data.by }),
  decide: (command) => [{ type: 'CounterIncremented', data: { by: command.by } }],
};

@Public()
@Controller('test/counters')
class CountersTestController {
  constructor(@Inject(CommandExecutor) private readonly executor: CommandExecutor) {}

  @Post(':id/increment')
  async increment(
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.executor.execute(counterDecider, id, { by: 1 }, ctx);
    setEtag(reply, result.revision);
    return { id, value: result.state.value };
  }
}

describe('platform HTTP conventions (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      controllers: [ThingsTestController, CountersTestController],
      label: 'platform',
    });
  });
  afterAll(async () => {
    gate.open();
    await t?.close();
  });

  describe('error envelope', () => {
    it('malformed JSON is 400 malformed_json', async () => {
      const res = await t
        .http()
        .post('/test/things')
        .set('content-type', 'application/json')
        .send('{"name": ');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: {
          code: 'malformed_json',
          message: expect.any(String),
          details: {},
          request_id: res.headers['x-request-id'],
        },
      });
    });

    it('an unknown field is 400 validation_error naming it', async () => {
      const res = await t.http().post('/test/things').send({ name: 'a', colour: 'red' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.details.fields).toEqual([
        { path: 'colour', message: expect.stringContaining('should not exist') },
      ]);
    });

    it('a missing field is 400 validation_error', async () => {
      const res = await t.http().post('/test/things').send({});
      expect(res.status).toBe(400);
      expect(res.body.error.details.fields.map((f: { path: string }) => f.path)).toEqual(['name']);
    });

    it('a wrong type deep inside reports the full field path', async () => {
      const res = await t
        .http()
        .post('/test/things')
        .send({
          name: 'a',
          replicas: 'two',
          volumes: [
            { mount_path: '/a', size_gb: 1 },
            { mount_path: 3, size_gb: 0 },
          ],
        });
      expect(res.status).toBe(400);
      const paths = res.body.error.details.fields.map((f: { path: string }) => f.path);
      expect(paths).toEqual(['replicas', 'volumes.1.mount_path', 'volumes.1.size_gb']);
    });

    it('an oversized body is 413 payload_too_large', async () => {
      const res = await t
        .http()
        .post('/test/things')
        .send({ name: 'x'.repeat(t.config.bodyLimitBytes + 10) });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
    });

    it('a body that is not JSON is 415 unsupported_media_type', async () => {
      const res = await t
        .http()
        .post('/test/things')
        .set('content-type', 'text/plain')
        .send('name=a');
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    });

    it('an unknown route is 404 route_not_found', async () => {
      const res = await t.http().get('/no/such/route');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('route_not_found');
      expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
    });

    it('an unexpected error is 500 internal_error without its message', async () => {
      const res = await t.http().get('/test/things/boom');
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('internal_error');
      expect(JSON.stringify(res.body)).not.toContain('secret internal detail');
    });

    it('a malformed If-Match is 400', async () => {
      const res = await t.http().post('/test/things').set('if-match', 'nope').send({ name: 'a' });
      expect(res.status).toBe(400);
      expect(res.body.error.details.fields[0].path).toBe('headers.if-match');
    });
  });

  describe('X-Request-ID', () => {
    it('is echoed when valid', async () => {
      const { response } = await sdkFor(t).GET('/health', {
        headers: { 'x-request-id': 'trace-abc-123' },
      });
      expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
    });

    it('is generated when absent', async () => {
      const { response } = await sdkFor(t).GET('/health');
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('is rejected when too long, with a generated id on the response', async () => {
      // Bad input the document does not describe for /health: sent raw.
      const res = await t.http().get('/health').set('x-request-id', 'a'.repeat(129));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('reaches the command context', async () => {
      await t
        .http()
        .post('/test/things')
        .set('x-request-id', 'rid-ctx-1')
        .send({ name: 'ctx' })
        .expect(201);
      expect(lastContext).toMatchObject({
        requestId: 'rid-ctx-1',
        correlationId: 'rid-ctx-1',
        actor: { type: 'system', id: 'anonymous' },
        tenantId: null,
      });
    });
  });

  describe('health and meta', () => {
    it('GET /health is ok', async () => {
      expect(unwrap(await sdkFor(t).GET('/health'))).toEqual({ status: 'ok' });
    });

    it('GET /health/ready is UP with database and event store connected', async () => {
      const ready = unwrap(await sdkFor(t).GET('/health/ready'));
      expect(ready).toMatchObject({
        status: 'UP',
        checks: { database: 'CONNECTED', eventstore: 'CONNECTED' },
      });
      expect(new Date(ready.time).toString()).not.toBe('Invalid Date');
    });

    it('GET /meta/error-model lists every code with its status and an example', async () => {
      const model = unwrap(await sdkFor(t).GET('/meta/error-model'));
      expect(model.codes.map((c) => c.code)).toEqual([...ERROR_CODES]);
      const notFound = model.codes.find((c) => c.code === 'not_found');
      expect(notFound).toMatchObject({ status: 404, example: { error: { code: 'not_found' } } });
    });

    it('GET /openapi.json documents the routes, the envelope and the security schemes', async () => {
      const res = await t.http().get('/openapi.json').expect(200);
      const doc = res.body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/health', '/health/ready', '/meta/error-model', '/test/things']),
      );
      expect(doc.components.schemas.ErrorEnvelope).toBeDefined();
      expect(doc.components.securitySchemes).toMatchObject({
        bearer: { type: 'http', scheme: 'bearer' },
        api_key: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      });
      const post = doc.paths['/test/things'].post;
      expect(post.responses['409'].content['application/json'].schema.$ref).toBe(
        '#/components/schemas/ErrorEnvelope',
      );
      expect(post.responses.default).toBeDefined();
      expect(post.parameters.map((p: { name: string }) => p.name)).toContain('Idempotency-Key');
    });

    it('GET /docs serves Swagger UI', async () => {
      const res = await t.http().get('/docs').redirects(1);
      expect(res.status).toBe(200);
      expect(res.text).toContain('swagger');
    });
  });

  describe('pagination', () => {
    it('returns a bare array by default and the envelope with a cursor', async () => {
      const first = await t.http().get('/test/things').expect(200);
      expect(first.body).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);

      const page1 = await t.http().get('/test/things?envelope=true&limit=4').expect(200);
      expect(page1.body.items).toHaveLength(4);
      expect(page1.body.page).toMatchObject({ limit: 4, has_more: true });

      const page2 = await t
        .http()
        .get(`/test/things?limit=4&cursor=${page1.body.page.next_cursor}`)
        .expect(200);
      expect(page2.body).toEqual({
        items: [{ id: 5 }, { id: 6 }, { id: 7 }],
        page: { limit: 4, next_cursor: null, has_more: false },
      });
    });

    it('rejects a limit out of range', async () => {
      const res = await t.http().get('/test/things?limit=500');
      expect(res.status).toBe(400);
      expect(res.body.error.details.fields[0].path).toBe('limit');
    });
  });

  describe('ETag and If-Match through the command executor', () => {
    // Id path parameters are UUIDs on every route (the platform's input guard).
    const C1 = '00000000-0000-4000-8000-0000000000c1';
    const C2 = '00000000-0000-4000-8000-0000000000c2';
    it('sets W/"<revision>" and answers 412 precondition_failed on a stale If-Match', async () => {
      const first = await t.http().post(`/test/counters/${C1}/increment`).expect(201);
      expect(first.headers.etag).toBe('W/"0"');
      const second = await t
        .http()
        .post(`/test/counters/${C1}/increment`)
        .set('if-match', 'W/"0"')
        .expect(201);
      expect(second.headers.etag).toBe('W/"1"');
      const stale = await t.http().post(`/test/counters/${C1}/increment`).set('if-match', 'W/"0"');
      expect(stale.status).toBe(412);
      expect(stale.body.error.code).toBe('precondition_failed');
      const store = t.app.get<EventStore>(EVENT_STORE);
      expect(await store.readStream(`testcounter-${C1}`)).toHaveLength(2);
    });

    it('a replayed Idempotency-Key appends nothing', async () => {
      const a = await t
        .http()
        .post(`/test/counters/${C2}/increment`)
        .set('idempotency-key', 'inc-1');
      const b = await t
        .http()
        .post(`/test/counters/${C2}/increment`)
        .set('idempotency-key', 'inc-1');
      expect(b.body).toEqual(a.body);
      expect(b.headers.etag).toBe('W/"0"');
      const store = t.app.get<EventStore>(EVENT_STORE);
      expect(await store.readStream(`testcounter-${C2}`)).toHaveLength(1);
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the first response for the same key and body, running nothing', async () => {
      const before = calls.create;
      const first = await t
        .http()
        .post('/test/things')
        .set('idempotency-key', 'k-replay')
        .send({ name: 'a', replicas: 1 });
      expect(first.status).toBe(201);
      const second = await t
        .http()
        .post('/test/things')
        .set('idempotency-key', 'k-replay')
        .send({ replicas: 1, name: 'a' });
      expect(second.status).toBe(201);
      expect(second.body).toEqual(first.body);
      expect(second.headers.etag).toBe('W/"0"');
      expect(second.headers.location).toBe(first.headers.location);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(calls.create).toBe(before + 1);
    });

    it('derives the command id from the key', async () => {
      const a = await t
        .http()
        .post('/test/things')
        .set('idempotency-key', 'k-cmd')
        .send({ name: 'c' });
      const b = await t
        .http()
        .post('/test/things')
        .set('idempotency-key', 'k-cmd-2')
        .send({ name: 'c' });
      expect(a.body.command_id).not.toBe(b.body.command_id);
      expect(a.body.command_id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('answers 422 idempotency_key_reused for a different body', async () => {
      await t
        .http()
        .post('/test/things')
        .set('idempotency-key', 'k-reuse')
        .send({ name: 'a' })
        .expect(201);
      const res = await t
        .http()
        .post('/test/things')
        .set('idempotency-key', 'k-reuse')
        .send({ name: 'b' });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('idempotency_key_reused');
    });

    it('answers 409 conflict while the first request still runs', async () => {
      gate.close();
      const entered = gate.entered;
      const first = t
        .http()
        .post('/test/things/slow')
        .set('idempotency-key', 'k-slow')
        .send({ name: 's' })
        .then((r) => r);
      await entered;
      const second = await t
        .http()
        .post('/test/things/slow')
        .set('idempotency-key', 'k-slow')
        .send({ name: 's' });
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('conflict');
      gate.open();
      expect((await first).status).toBe(201);
      const third = await t
        .http()
        .post('/test/things/slow')
        .set('idempotency-key', 'k-slow')
        .send({ name: 's' });
      expect(third.status).toBe(201);
      expect(calls.slow).toBe(1);
    });

    it('forgets a key whose request failed, so a retry runs', async () => {
      const first = await t.http().post('/test/things/fail').set('idempotency-key', 'k-fail');
      expect(first.status).toBe(409);
      const retry = await t.http().post('/test/things/fail').set('idempotency-key', 'k-fail');
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual({ attempt: 2 });
    });

    it('rejects an invalid key', async () => {
      const res = await t
        .http()
        .post('/test/things')
        .set('idempotency-key', 'x'.repeat(256))
        .send({ name: 'a' });
      expect(res.status).toBe(400);
      expect(res.body.error.details.fields[0].path).toBe('headers.idempotency-key');
    });
  });
});
