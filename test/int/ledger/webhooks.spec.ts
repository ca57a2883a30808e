import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_STORE, type EventStore } from '../../../src/eventstore/event-store';
import { Clock } from '../../../src/platform/clock';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { verifyDelivery } from '../../../src/webhooks/domain';
import { WebhookDispatcher } from '../../../src/webhooks/webhook-dispatcher';
import { APP_RESOURCE_CATALOG } from '../../../src/resource-kinds';
import { startTestApp, type TestApp } from '../../support/app';
import { signUp, type LedgerAccount } from './accounts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 answering with the queued statuses (then 200). */
class Receiver {
  readonly received: Received[] = [];
  readonly statuses: number[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body });
        res.statusCode = this.statuses.shift() ?? 200;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('event feed and webhooks', () => {
  let t: TestApp;
  let alpha: LedgerAccount;
  let beta: LedgerAccount;
  let store: EventStore;
  let clock: Clock;
  const receiver = new Receiver();
  const secret = 'a-shared-secret-of-some-length';
  let webhookId: string;

  async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setImmediate(r));
      await t.app.get(WebhookDispatcher).runOnce();
    }
  }

  async function appendInstanceEvent(tenantId: string, type = 'InstanceRenamed'): Promise<string> {
    const id = randomUUID();
    const eventId = randomUUID();
    await store.append(
      `instance-${id}`,
      [
        {
          id: eventId,
          type,
          data: { instanceId: id, from: 'a', to: 'b', at: new Date().toISOString() },
          metadata: {
            tenantId,
            actor: { type: 'system', id: 'test' },
            correlationId: randomUUID(),
            causationId: null,
            requestId: null,
            sourceIp: null,
            occurredAt: new Date().toISOString(),
            schemaVersion: 1,
          },
        },
      ],
      'no_stream',
    );
    return eventId;
  }

  const deliveries = async (id = webhookId) =>
    (
      await t.inject({ method: 'GET', url: `/webhooks/${id}/deliveries`, headers: alpha.headers })
    ).json<Array<{ event_id: string; status: string; attempts: number; last_error: string }>>();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      label: 'ledger_webhooks',
      listen: false,
      config: { authRateLimitPerMinute: 1000, webhooksAllowPrivateTargets: true },
    });
    alpha = await signUp(t, 'wh-alpha');
    beta = await signUp(t, 'wh-beta');
    store = t.app.get<EventStore>(EVENT_STORE);
    clock = t.app.get(Clock);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('creates a webhook; the secret is never returned', async () => {
    const res = await t.inject({
      method: 'POST',
      url: '/webhooks',
      headers: alpha.headers,
      payload: { url: receiver.url, events: ['Instance*'], is_active: true, secret },
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<Record<string, unknown>>();
    webhookId = body.id as string;
    expect(body).toMatchObject({ url: receiver.url, events: ['Instance*'], is_active: true });
    expect(JSON.stringify(body)).not.toContain(secret);
    expect(body.secret).toBeUndefined();
    const list = await t.inject({ method: 'GET', url: '/webhooks', headers: alpha.headers });
    expect(list.json()).toHaveLength(1);
    expect(list.body).not.toContain(secret);
    const other = await t.inject({ method: 'GET', url: '/webhooks', headers: beta.headers });
    expect(other.json()).toEqual([]);
    const foreign = await t.inject({
      method: 'GET',
      url: `/webhooks/${webhookId}`,
      headers: beta.headers,
    });
    expect(foreign.statusCode).toBe(404);
  });

  it('sends a signed test delivery', async () => {
    const res = await t.inject({
      method: 'POST',
      url: `/webhooks/${webhookId}/test`,
      headers: alpha.headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200 });
    const got = receiver.received.at(-1) as Received;
    expect(got.headers['x-nimbus-event']).toBe('WebhookTest');
    const verdict = verifyDelivery({
      secrets: secret,
      rawBody: got.body,
      signatureHeader: got.headers['x-nimbus-signature'] as string,
      timestampHeader: got.headers['x-nimbus-timestamp'] as string,
      now: Math.floor(clock.now().getTime() / 1000),
    });
    expect(verdict).toEqual({ ok: true });
    expect(
      verifyDelivery({
        secrets: 'another-secret-entirely',
        rawBody: got.body,
        signatureHeader: got.headers['x-nimbus-signature'] as string,
        timestampHeader: got.headers['x-nimbus-timestamp'] as string,
        now: Math.floor(clock.now().getTime() / 1000),
      }).ok,
    ).toBe(false);
  });

  it('delivers the tenant events its filter takes, signed, with the event id', async () => {
    const before = receiver.received.length;
    const eventId = await appendInstanceEvent(alpha.tenantId);
    await appendInstanceEvent(beta.tenantId); // another tenant: not for this webhook
    const got = await until('the delivery', async () =>
      receiver.received.slice(before).find((r) => r.headers['x-nimbus-event-id'] === eventId),
    );
    expect(got.headers['x-nimbus-event']).toBe('InstanceRenamed');
    const payload = JSON.parse(got.body) as { id: string; type: string; tenant_id: string };
    expect(payload).toMatchObject({
      id: eventId,
      type: 'InstanceRenamed',
      tenant_id: alpha.tenantId,
    });
    expect(
      verifyDelivery({
        secrets: secret,
        rawBody: got.body,
        signatureHeader: got.headers['x-nimbus-signature'] as string,
        timestampHeader: got.headers['x-nimbus-timestamp'] as string,
        now: Math.floor(clock.now().getTime() / 1000),
      }),
    ).toEqual({ ok: true });
    expect(receiver.received.slice(before).every((r) => !r.body.includes(beta.tenantId))).toBe(
      true,
    );
  });

  it('retries after a 500 on the persisted schedule, with the same event id', async () => {
    receiver.statuses.push(500);
    const before = receiver.received.length;
    const eventId = await appendInstanceEvent(alpha.tenantId);
    const failed = await until('the failed attempt', async () =>
      (await deliveries()).find((d) => d.event_id === eventId && d.status === 'retrying'),
    );
    expect(failed.attempts).toBe(1);
    expect(receiver.received.length).toBe(before + 1);
    // Not due yet: nothing is sent before the backoff has passed.
    await t.app.get(WebhookDispatcher).runOnce();
    expect(receiver.received.length).toBe(before + 1);
    clock.advance(11_000); // past the first backoff (5..10 s)
    await t.app.get(WebhookDispatcher).runOnce();
    const delivered = (await deliveries()).find((d) => d.event_id === eventId);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 2 });
    const attempts = receiver.received.slice(before);
    expect(attempts).toHaveLength(2);
    expect(attempts.map((a) => a.headers['x-nimbus-event-id'])).toEqual([eventId, eventId]);
  });

  it('refuses private targets unless the operator allows them: no delivery goes out', async () => {
    t.config.webhooksAllowPrivateTargets = false;
    try {
      const res = await t.inject({
        method: 'POST',
        url: '/webhooks',
        headers: alpha.headers,
        payload: { url: receiver.url, events: ['*'], secret },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'validation_error' } });
      for (const url of [
        'http://10.1.2.3/x',
        'http://169.254.169.254/latest',
        'http://[::1]:8080/',
      ]) {
        const r = await t.inject({
          method: 'POST',
          url: '/webhooks',
          headers: alpha.headers,
          payload: { url, events: ['*'], secret },
        });
        expect(r.statusCode, url).toBe(400);
      }
      // The existing loopback webhook: the delivery is refused at send time.
      const before = receiver.received.length;
      const eventId = await appendInstanceEvent(alpha.tenantId);
      const refused = await until('the refused attempt', async () =>
        (await deliveries()).find((d) => d.event_id === eventId && d.attempts >= 1),
      );
      expect(refused.last_error).toMatch(/^refused: /);
      expect(receiver.received.length).toBe(before);
    } finally {
      t.config.webhooksAllowPrivateTargets = true;
    }
  });

  it('serves the event feed and the event types', async () => {
    const head = await store.headPosition();
    if (head) await t.app.get(ProjectionWaiter).waitFor(head, ['events.feed'], 20_000);
    const feed = await t.inject({
      method: 'GET',
      url: '/events?type=InstanceRenamed&envelope=true&limit=2',
      headers: alpha.headers,
    });
    expect(feed.statusCode, feed.body).toBe(200);
    const page = feed.json<{
      items: Array<{ type: string; resource: string }>;
      page: { next_cursor: string | null; has_more: boolean };
    }>();
    expect(page.items).toHaveLength(2);
    expect(page.items.every((e) => e.type === 'InstanceRenamed')).toBe(true);
    expect(page.page.has_more).toBe(true);
    const next = await t.inject({
      method: 'GET',
      url: `/events?type=InstanceRenamed&limit=2&cursor=${page.page.next_cursor}`,
      headers: alpha.headers,
    });
    expect(next.json<{ items: unknown[] }>().items.length).toBeGreaterThan(0);
    const other = await t.inject({
      method: 'GET',
      url: '/events?type=InstanceRenamed',
      headers: beta.headers,
    });
    expect(other.json()).toHaveLength(1);
    const all = (
      await t.inject({ method: 'GET', url: '/events?limit=200', headers: alpha.headers })
    ).body;
    expect(all).not.toContain('secretEnc');
    expect(all).not.toContain('passwordHash');
    const types = await t.inject({ method: 'GET', url: '/events/types', headers: alpha.headers });
    const listed = types.json<Array<{ type: string; audited: boolean }>>().map((x) => x.type);
    // Every event type a decider or the saga runtime emits (the completeness test checks the
    // catalog against the deciders in the code), including the ones the audit log leaves out.
    expect(listed).toEqual(APP_RESOURCE_CATALOG.emittedEventTypes());
    expect(listed).toEqual(
      expect.arrayContaining([
        'InstanceLaunchRequested',
        'InstanceRenamed',
        'InstanceTagsChanged',
        'InstanceRebooted',
        'ImageImportStarted',
        'ImageImported',
        'InstanceStarted',
        'InstanceStopped',
        'InstanceTerminated',
        'InstanceContainerCreated',
        'InstanceNetworkAttached',
        'SagaStarted',
        'SagaCompleted',
      ]),
    );
  });

  it('deletes a webhook: it disappears and receives nothing more', async () => {
    const del = await t.inject({
      method: 'DELETE',
      url: `/webhooks/${webhookId}`,
      headers: alpha.headers,
    });
    expect(del.statusCode).toBe(204);
    const gone = await t.inject({
      method: 'GET',
      url: `/webhooks/${webhookId}`,
      headers: alpha.headers,
    });
    expect(gone.statusCode).toBe(404);
    expect(
      (await t.inject({ method: 'GET', url: '/webhooks', headers: alpha.headers })).json(),
    ).toEqual([]);
  });
});
