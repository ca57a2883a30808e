import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import {
  decodePosition,
  EVENT_STORE,
  type EventStore,
  type Position,
} from '../../../src/eventstore/event-store';
import { startTestApp, type TestApp } from '../../support/app';
import { signUp, type LedgerAccount } from './accounts';

interface FeedItem {
  id: string;
  type: string;
  position: string;
}

interface FeedPage {
  items: FeedItem[];
  page: { next_cursor: string | null; has_more: boolean };
}

function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  return a.prepare < b.prepare ? -1 : a.prepare > b.prepare ? 1 : 0;
}

/**
 * GET /events pages newest first by log position, and following the cursors reaches every event
 * exactly once, also when the positions' digits differ in length (text order would interleave them).
 */
describe('event feed paging', () => {
  let t: TestApp;
  let account: LedgerAccount;
  let store: EventStore;
  const appended: string[] = [];

  async function appendRename(tenantId: string): Promise<{ eventId: string; position: Position }> {
    const instanceId = randomUUID();
    const eventId = randomUUID();
    const { position } = await store.append(
      `instance-${instanceId}`,
      [
        {
          id: eventId,
          type: 'InstanceRenamed',
          data: { instanceId, from: 'a', to: 'b', at: new Date().toISOString() },
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
    return { eventId, position };
  }

  beforeAll(async () => {
    t = await startTestApp({
      label: 'ledger_event_feed',
      listen: false,
      config: { authRateLimitPerMinute: 1000 },
    });
    account = await signUp(t, 'feed');
    store = t.app.get<EventStore>(EVENT_STORE);
    // 170 events, one transaction each, so their positions span several digit lengths.
    let last: Position | null = null;
    for (let i = 0; i < 170; i += 1) {
      const { eventId, position } = await appendRename(account.tenantId);
      appended.push(eventId);
      last = position;
    }
    if (!last) throw new Error('nothing appended');
    // The last append's own position: the store's readable head may lag behind it while another
    // transaction on the shared server holds the xmin back.
    expect(await t.app.get(ProjectionWaiter).waitFor(last, ['events.feed'], 60_000)).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('reaches all 170 events once, newest first, following cursors with limit=7', async () => {
    const seen: FeedItem[] = [];
    let url = '/events?type=InstanceRenamed&limit=7&envelope=true';
    for (let pages = 0; pages < 100; pages += 1) {
      const res = await t.inject({ method: 'GET', url, headers: account.headers });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<FeedPage>();
      expect(page.items.length).toBeLessThanOrEqual(7);
      seen.push(...page.items);
      if (!page.page.next_cursor) {
        expect(page.page.has_more).toBe(false);
        break;
      }
      expect(page.items).toHaveLength(7);
      url = `/events?type=InstanceRenamed&limit=7&cursor=${page.page.next_cursor}`;
    }
    expect(seen.map((e) => e.id).sort()).toEqual([...appended].sort());
    expect(new Set(seen.map((e) => e.id)).size).toBe(170);
    // Newest first: the order of appending, reversed, and positions strictly decreasing.
    expect(seen.map((e) => e.id)).toEqual([...appended].reverse());
    const positions = seen.map((e) => {
      const p = decodePosition(e.position);
      expect(p, e.position).not.toBeNull();
      return p as Position;
    });
    for (let i = 1; i < positions.length; i += 1) {
      expect(comparePositions(positions[i - 1], positions[i])).toBe(1);
    }
  });

  it('rejects a cursor that is not one of its own', async () => {
    const forged = Buffer.from(JSON.stringify(['1e5', '2']), 'utf8').toString('base64url');
    const res = await t.inject({
      method: 'GET',
      url: `/events?limit=7&cursor=${forged}`,
      headers: account.headers,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('validation_error');
  });
});
