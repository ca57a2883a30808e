import { describe, expect, it } from 'vitest';
import type { EventStore, NewEvent } from '../../eventstore/event-store';
import {
  AccessDeniedRecorder,
  GLOBAL_LIMIT,
  PER_SOURCE_LIMIT,
  type AccessDenial,
} from './access-denied.recorder';

function fakeStore() {
  const appended: Array<{ stream: string; event: NewEvent }> = [];
  const store = {
    append: (stream: string, events: NewEvent[]) => {
      for (const event of events) appended.push({ stream, event });
      return Promise.resolve({ nextExpectedRevision: 0n, position: { commit: 0n, prepare: 0n } });
    },
  } as unknown as EventStore;
  return { store, appended };
}

const denial = (over: Partial<AccessDenial> = {}): AccessDenial => ({
  status: 401,
  code: 'unauthorized',
  reason: 'authentication required',
  method: 'GET',
  path: '/me',
  action: null,
  resource: null,
  tenantId: null,
  actor: null,
  sourceIp: '203.0.113.7',
  requestId: 'r-1',
  ...over,
});

describe('AccessDeniedRecorder', () => {
  it('writes AccessDenied on access-<tenant> or access-ip-<address>', async () => {
    const { store, appended } = fakeStore();
    const recorder = new AccessDeniedRecorder(store, () => new Date('2026-01-01T00:00:00Z'));
    await recorder.record(denial());
    await recorder.record(denial({ tenantId: 't-1', status: 403, action: 'iam:createPolicy' }));
    expect(appended.map((a) => a.stream)).toEqual(['access-ip-203.0.113.7', 'access-t-1']);
    expect(appended[1].event).toMatchObject({
      type: 'AccessDenied',
      data: { status: 403, method: 'GET', path: '/me', action: 'iam:createPolicy', suppressed: 0 },
      metadata: {
        tenantId: 't-1',
        actor: { type: 'system', id: 'anonymous' },
        sourceIp: '203.0.113.7',
      },
    });
    expect(AccessDeniedRecorder.streamOf({ tenantId: null, sourceIp: 'not an ip\n' })).toMatch(
      /^access-ip-[0-9a-f]{16}$/,
    );
  });

  it('writes the details a denial names (the S3 endpoint), only when it has some', async () => {
    const { store, appended } = fakeStore();
    const recorder = new AccessDeniedRecorder(store, () => new Date('2026-01-01T00:00:00Z'));
    await recorder.record(denial());
    const details = { access_key_id: 'NIMBEXAMPLE', operation: 'PutObject', key: null };
    await recorder.record(denial({ status: 403, code: 'AccessDenied', details }));
    expect(appended[0].event.data).not.toHaveProperty('details');
    expect(appended[1].event.data).toMatchObject({ code: 'AccessDenied', details });
  });

  it('caps a flood per source per minute and reports the suppressed count on the next event', async () => {
    const { store, appended } = fakeStore();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const recorder = new AccessDeniedRecorder(store, () => new Date(now));
    for (let i = 0; i < 1000; i++) await recorder.record(denial());
    expect(appended).toHaveLength(PER_SOURCE_LIMIT);
    now += 60_000;
    await recorder.record(denial());
    expect(appended).toHaveLength(PER_SOURCE_LIMIT + 1);
    expect(appended[PER_SOURCE_LIMIT].event.data).toMatchObject({
      suppressed: 1000 - PER_SOURCE_LIMIT,
    });
  });

  it('caps the total across many sources', async () => {
    const { store, appended } = fakeStore();
    const recorder = new AccessDeniedRecorder(store, () => new Date('2026-01-01T00:00:00Z'));
    for (let i = 0; i < GLOBAL_LIMIT + 50; i++) {
      await recorder.record(denial({ sourceIp: `10.0.${Math.floor(i / 250)}.${i % 250}` }));
    }
    expect(appended).toHaveLength(GLOBAL_LIMIT);
  });
});
