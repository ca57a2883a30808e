import { describe, expect, it } from 'vitest';
import { COMPUTE_RESOURCE_KINDS } from '../../compute/resources';
import { IDENTITY_RESOURCE_KINDS } from '../../identity/resources';
import { ResourceCatalog } from '../../platform/resources/resource-catalog';
import { ERASED, TimelineChainBuilder } from './chain';
import {
  csvField,
  timelineCsvHeader,
  timelineCsvRow,
  timelineEntryOf,
  type TimelineEvent,
} from './entry';

const event = (overrides: Partial<TimelineEvent> = {}): TimelineEvent => ({
  id: 'e-1',
  type: 'InstanceResized',
  data: { instanceId: 'i-1', instance_type: 'basic-4' },
  streamId: 'instance-i-1',
  position: { commit: 10n, prepare: 3n },
  metadata: {
    tenantId: 't-1',
    actor: { type: 'user', id: 'u-1' },
    requestId: 'r-1',
    sourceIp: '1.2.3.4',
    occurredAt: '2026-01-05T10:00:00.000Z',
  },
  ...overrides,
});

describe('timeline entries', () => {
  const catalog = new ResourceCatalog([...IDENTITY_RESOURCE_KINDS, ...COMPUTE_RESOURCE_KINDS])
    .audit;

  it('uses the audit action and resource when the catalog knows the event', () => {
    expect(timelineEntryOf(event(), catalog, { actorLabel: () => 'ann@example.com' })).toEqual({
      position: '10-3',
      time: '2026-01-05T10:00:00.000Z',
      actor: 'ann@example.com',
      action: 'INSTANCE_RESIZE',
      resource: 'instance/i-1',
      summary: 'InstanceResized: instanceId=i-1, instance_type=basic-4',
    });
  });

  it('shows events the audit log leaves out, by their type and stream', () => {
    const entry = timelineEntryOf(
      event({
        type: 'InstanceRunning',
        streamId: 'instance-i-1',
        metadata: { ...event().metadata, actor: { type: 'system', id: 'launch-saga' } },
      }),
      catalog,
    );
    expect(entry).toMatchObject({
      action: 'InstanceRunning',
      resource: 'instance/i-1',
      actor: 'system',
    });
  });

  it('renders data through the given renderer (erasure before hashing)', () => {
    const entry = timelineEntryOf(
      event({
        type: 'UserRegistered',
        streamId: 'user-u-1',
        data: { userId: 'u-1', email: 'pii1.x.y.z' },
      }),
      catalog,
      {
        renderData: (e) => ({ ...(e.data as object), email: ERASED }),
        actorLabel: () => ERASED,
      },
    );
    expect(entry).toMatchObject({
      actor: ERASED,
      action: 'USER_REGISTER',
      summary: 'UserRegistered: email=[erased], userId=u-1',
    });
  });

  it('writes CSV with quoting and formula protection', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(-5)).toBe('-5');
    const line = new TimelineChainBuilder('t-1').append(timelineEntryOf(event(), catalog));
    expect(timelineCsvHeader()).toBe('seq,time,actor,action,resource,summary,position,hash\r\n');
    expect(timelineCsvRow(line)).toBe(
      `1,2026-01-05T10:00:00.000Z,u-1,INSTANCE_RESIZE,instance/i-1,"InstanceResized: instanceId=i-1, instance_type=basic-4",10-3,${line.hash}\r\n`,
    );
  });
});
