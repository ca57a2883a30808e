import { describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors/app-error';
import { spec } from '../../../test/support/decider-spec';
import {
  volumeDecider,
  volumeVisibleTo,
  type VolumeCommand,
  type VolumeEvent,
  type VolumeState,
} from './volume';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'vol-1';
const TENANT = 't-1';

const created: VolumeEvent = {
  type: 'VolumeCreated',
  data: { volumeId: ID, tenantId: TENANT, name: 'data-vol', sizeGb: 10, at: AT },
};
const attached: VolumeEvent = {
  type: 'VolumeAttached',
  data: { volumeId: ID, instanceId: 'i-1', mountPath: '/data', at: AT },
};
const detached: VolumeEvent = {
  type: 'VolumeDetached',
  data: { volumeId: ID, instanceId: 'i-1', mountPath: '/data', at: AT },
};
const deleted: VolumeEvent = { type: 'VolumeDeleted', data: { volumeId: ID, sizeGb: 10, at: AT } };

const HISTORIES: Record<string, VolumeEvent[]> = {
  NONE: [],
  AVAILABLE: [created],
  IN_USE: [created, attached],
  'AVAILABLE(after detach)': [created, attached, detached],
  DELETED: [created, deleted],
};

const COMMANDS: Record<string, VolumeCommand> = {
  CreateVolume: {
    type: 'CreateVolume',
    volumeId: ID,
    tenantId: TENANT,
    name: 'data-vol',
    sizeGb: 10,
    now: NOW,
  },
  'AttachVolume(i-1 /data)': {
    type: 'AttachVolume',
    instanceId: 'i-1',
    mountPath: '/data',
    now: NOW,
  },
  'AttachVolume(i-2)': { type: 'AttachVolume', instanceId: 'i-2', mountPath: '/data', now: NOW },
  DetachVolume: { type: 'DetachVolume', now: NOW },
  'DetachVolume(from i-2)': { type: 'DetachVolume', instanceId: 'i-2', now: NOW },
  DeleteVolume: { type: 'DeleteVolume', now: NOW },
};

// prettier-ignore
const TABLE: Record<string, Record<string, string>> = {
  CreateVolume:              { NONE: 'VolumeCreated>AVAILABLE', AVAILABLE: 'conflict', IN_USE: 'conflict', 'AVAILABLE(after detach)': 'conflict', DELETED: 'conflict' },
  'AttachVolume(i-1 /data)': { NONE: 'not_found', AVAILABLE: 'VolumeAttached>IN_USE', IN_USE: 'noop', 'AVAILABLE(after detach)': 'VolumeAttached>IN_USE', DELETED: 'not_found' },
  'AttachVolume(i-2)':       { NONE: 'not_found', AVAILABLE: 'VolumeAttached>IN_USE', IN_USE: 'invalid_state', 'AVAILABLE(after detach)': 'VolumeAttached>IN_USE', DELETED: 'not_found' },
  DetachVolume:              { NONE: 'not_found', AVAILABLE: 'invalid_state', IN_USE: 'VolumeDetached>AVAILABLE', 'AVAILABLE(after detach)': 'invalid_state', DELETED: 'not_found' },
  'DetachVolume(from i-2)':  { NONE: 'not_found', AVAILABLE: 'noop', IN_USE: 'noop', 'AVAILABLE(after detach)': 'noop', DELETED: 'not_found' },
  DeleteVolume:              { NONE: 'not_found', AVAILABLE: 'VolumeDeleted>DELETED', IN_USE: 'dependency_violation', 'AVAILABLE(after detach)': 'VolumeDeleted>DELETED', DELETED: 'not_found' },
};

const fold = (h: VolumeEvent[]): VolumeState =>
  h.reduce(volumeDecider.evolve, volumeDecider.initialState());

function outcome(command: VolumeCommand, history: VolumeEvent[]): string {
  const state = fold(history);
  try {
    const events = volumeDecider.decide(command, state);
    if (events.length === 0) return 'noop';
    return `${events.map((e) => e.type).join('+')}>${events.reduce(volumeDecider.evolve, state).status}`;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

describe('volume decider: every (state, command) pair', () => {
  for (const [name, command] of Object.entries(COMMANDS)) {
    for (const key of Object.keys(HISTORIES)) {
      it(`${name} in ${key} -> ${TABLE[name][key]}`, () => {
        expect(outcome(command, HISTORIES[key])).toBe(TABLE[name][key]);
      });
    }
  }
});

describe('volume decider: given/when/then', () => {
  const s = spec(volumeDecider);

  it('creates with name and size (billing reads the size)', () => {
    s.given([]).when(COMMANDS.CreateVolume).then([created]);
  });

  it.each([
    [{ name: '' }, /name/],
    [{ name: 'data vol' }, /name/],
    [{ sizeGb: 0 }, /size_gb/],
    [{ sizeGb: 16385 }, /size_gb/],
    [{ sizeGb: 2.5 }, /size_gb/],
  ])('create validates %j', (patch, message) => {
    s.given([])
      .when({
        ...(COMMANDS.CreateVolume as Extract<VolumeCommand, { type: 'CreateVolume' }>),
        ...patch,
      })
      .thenThrows('validation_error', message);
  });

  it('attach normalises and validates the mount path', () => {
    s.given([created])
      .when({ type: 'AttachVolume', instanceId: 'i-1', mountPath: '/data/', now: NOW })
      .then([attached]);
    s.given([created])
      .when({ type: 'AttachVolume', instanceId: 'i-1', mountPath: '../etc', now: NOW })
      .thenThrows('validation_error', /mount_path/);
  });

  it('attaching an IN_USE volume elsewhere names the instance it is attached to', () => {
    s.given([created, attached])
      .when({ type: 'AttachVolume', instanceId: 'i-2', mountPath: '/data', now: NOW })
      .thenThrows(
        'invalid_state',
        /volume is IN_USE \(attached to instance i-1 at \/data\); attach needs AVAILABLE/,
      );
    s.given([created, attached])
      .when({ type: 'AttachVolume', instanceId: 'i-1', mountPath: '/other', now: NOW })
      .thenThrows('invalid_state');
  });

  it('detach records from which instance and where', () => {
    s.given([created, attached])
      .when({ type: 'DetachVolume', instanceId: 'i-1', now: NOW })
      .then([detached]);
  });

  it('detaching a volume that is not attached is 409 invalid_state (the compensation is a no-op)', () => {
    s.given([created])
      .when({ type: 'DetachVolume', now: NOW })
      .thenThrows('invalid_state', /not attached/);
    s.given([created, attached, detached])
      .when({ type: 'DetachVolume', instanceId: 'i-1', now: NOW })
      .then([]);
  });

  it('delete while attached is 409 dependency_violation naming the instance', () => {
    s.given([created, attached])
      .when({ type: 'DeleteVolume', now: NOW })
      .thenThrows('dependency_violation', /attached to instance i-1/);
  });

  it('a deleted volume is visible to nobody; another tenant never sees it', () => {
    expect(volumeVisibleTo(fold([created]), TENANT)).toBe(true);
    expect(volumeVisibleTo(fold([created]), 'other')).toBe(false);
    expect(volumeVisibleTo(fold([created, deleted]), TENANT)).toBe(false);
  });
});
