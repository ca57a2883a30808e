import { describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors/app-error';
import { spec } from '../../../test/support/decider-spec';
import { findInstanceType, snapshotOf, type InstanceType } from './instance-types';
import {
  INSTANCE_STATUSES,
  MANAGED_INSTANCE_TYPE,
  allowedActions,
  driftCommand,
  instanceDecider,
  type InstanceCommand,
  type InstanceCommandType,
  type InstanceEvent,
  type InstanceState,
  type LaunchInstance,
} from './instance';

const T0 = new Date('2026-05-01T10:00:00.000Z');
const NOW = new Date('2026-05-01T11:00:00.000Z');
const at = (d: Date) => d.toISOString();
const ID = '0b5e2a53-5d43-4a4e-9a43-1d1b0b3c6e01';
const TENANT = 'c1d2e3f4-0000-4000-8000-000000000001';

function type(id: string): InstanceType {
  const t = findInstanceType(id);
  if (!t) throw new Error(`no type ${id}`);
  return t;
}
const BASIC_2 = type('basic-2');
const BASIC_4 = type('basic-4');

const image = { id: 'img-1', name: 'busybox', dockerImageId: 'sha256:abc' };

const launch: LaunchInstance = {
  type: 'LaunchInstance',
  instanceId: ID,
  tenantId: TENANT,
  name: 'web-01',
  image,
  instanceType: BASIC_2,
  vpcId: null,
  subnetId: null,
  ports: [{ host: 8080, container: 80 }],
  volumes: [{ volumeId: 'vol-1', mountPath: '/data/' }],
  userData: null,
  now: T0,
};

// ---------------------------------------------------------------- histories reaching each state

const ev = {
  launched: {
    type: 'InstanceLaunchRequested',
    data: {
      instanceId: ID,
      tenantId: TENANT,
      name: 'web-01',
      image,
      instanceType: snapshotOf(BASIC_2),
      vpcId: null,
      subnetId: null,
      ports: [{ host: 8080, container: 80 }],
      volumes: [{ volumeId: 'vol-1', mountPath: '/data' }],
      userData: null,
      tags: {},
      at: at(T0),
    },
  },
  created: {
    type: 'InstanceContainerCreated',
    data: { instanceId: ID, containerId: 'c-1', at: at(T0) },
  },
  network: {
    type: 'InstanceNetworkAttached',
    data: { instanceId: ID, vpcId: null, subnetId: null, privateIp: null, at: at(T0) },
  },
  started: {
    type: 'InstanceStarted',
    data: { instanceId: ID, cause: 'launch', instanceType: snapshotOf(BASIC_2), at: at(T0) },
  },
  paused: { type: 'InstancePaused', data: { instanceId: ID, cause: 'requested', at: at(T0) } },
  stopRequested: {
    type: 'InstanceStopRequested',
    data: { instanceId: ID, from: 'RUNNING', at: at(T0) },
  },
  stopped: {
    type: 'InstanceStopped',
    data: { instanceId: ID, cause: 'requested', exitCode: 0, at: at(T0) },
  },
  startRequested: { type: 'InstanceStartRequested', data: { instanceId: ID, at: at(T0) } },
  terminationRequested: {
    type: 'InstanceTerminationRequested',
    data: { instanceId: ID, from: 'RUNNING', containerId: 'c-1', volumeIds: ['vol-1'], at: at(T0) },
  },
  terminated: {
    type: 'InstanceTerminated',
    data: { instanceId: ID, instanceTypeId: 'basic-2', volumeIds: ['vol-1'], at: at(T0) },
  },
  launchFailed: {
    type: 'InstanceLaunchFailed',
    data: {
      instanceId: ID,
      step: 'create_container',
      reason: 'no such image',
      containerId: null,
      volumeIds: ['vol-1'],
      at: at(T0),
    },
  },
} satisfies Record<string, InstanceEvent>;

const RUNNING: InstanceEvent[] = [ev.launched, ev.created, ev.network, ev.started];
const STOPPED: InstanceEvent[] = [...RUNNING, ev.stopRequested, ev.stopped];

const HISTORIES = {
  NONE: [],
  PENDING: [ev.launched],
  'STARTING(launch)': [ev.launched, ev.created],
  'STARTING(restart)': [...STOPPED, ev.startRequested],
  RUNNING,
  PAUSED: [...RUNNING, ev.paused],
  STOPPING: [...RUNNING, ev.stopRequested],
  STOPPED,
  TERMINATING: [...RUNNING, ev.terminationRequested],
  TERMINATED: [...RUNNING, ev.terminationRequested, ev.terminated],
  ERROR: [ev.launched, ev.launchFailed],
} satisfies Record<string, InstanceEvent[]>;
type StateKey = keyof typeof HISTORIES;
const STATE_KEYS = Object.keys(HISTORIES) as StateKey[];

const fold = (history: InstanceEvent[]): InstanceState =>
  history.reduce(instanceDecider.evolve, instanceDecider.initialState());

// ---------------------------------------------------------------- the table

/**
 * Each cell: `Event>STATUS` (events produced, then the resulting status), `noop` (no events),
 * or the error code. Several events: `A+B>STATUS`.
 */
type Cell = string;

const COMMANDS: Record<string, InstanceCommand> = {
  LaunchInstance: launch,
  RecordContainerCreated: { type: 'RecordContainerCreated', containerId: 'c-1', now: NOW },
  RecordNetworkAttached: {
    type: 'RecordNetworkAttached',
    vpcId: 'vpc-1',
    subnetId: 'sub-1',
    privateIp: '10.0.0.5',
    now: NOW,
  },
  RecordInstanceStarted: { type: 'RecordInstanceStarted', now: NOW },
  RecordLaunchFailed: {
    type: 'RecordLaunchFailed',
    step: 'start_container',
    reason: 'exec format error',
    now: NOW,
  },
  StopInstance: { type: 'StopInstance', now: NOW },
  RecordInstanceStopped: { type: 'RecordInstanceStopped', exitCode: 0, now: NOW },
  StartInstance: { type: 'StartInstance', now: NOW },
  RebootInstance: { type: 'RebootInstance', now: NOW },
  PauseInstance: { type: 'PauseInstance', now: NOW },
  ResumeInstance: { type: 'ResumeInstance', now: NOW },
  ResizeInstance: { type: 'ResizeInstance', instanceType: BASIC_4, now: NOW },
  UpdateInstance: { type: 'UpdateInstance', name: 'web-02', now: NOW },
  RequestVolumesChange: {
    type: 'RequestVolumesChange',
    volumes: [{ volumeId: 'vol-2', mountPath: '/logs' }],
    snapshot: 'nimbus-snapshot/x:1',
    now: NOW,
  },
  RecordVolumesChanged: {
    type: 'RecordVolumesChanged',
    volumes: [
      { volumeId: 'vol-1', mountPath: '/data' },
      { volumeId: 'vol-2', mountPath: '/logs/' },
    ],
    containerId: 'c-2',
    now: NOW,
  },
  TerminateInstance: { type: 'TerminateInstance', now: NOW },
  RecordInstanceTerminated: { type: 'RecordInstanceTerminated', now: NOW },
  'RecordOperationFailed(start)': {
    type: 'RecordOperationFailed',
    operation: 'start',
    reason: 'oci runtime error',
    now: NOW,
  },
  'RecordOperationFailed(stop)': {
    type: 'RecordOperationFailed',
    operation: 'stop',
    reason: 'engine timeout',
    now: NOW,
  },
  RecordContainerRunning: { type: 'RecordContainerRunning', now: NOW },
  RecordContainerPaused: { type: 'RecordContainerPaused', now: NOW },
  RecordContainerExited: { type: 'RecordContainerExited', exitCode: 137, now: NOW },
  RecordContainerVanished: { type: 'RecordContainerVanished', now: NOW },
};

const I = 'invalid_state';
const N = 'not_found';
const C = 'conflict';

// prettier-ignore
const TABLE: Record<string, Record<StateKey, Cell>> = {
  //                              NONE, PENDING, STARTING(launch), STARTING(restart), RUNNING, PAUSED, STOPPING, STOPPED, TERMINATING, TERMINATED, ERROR
  LaunchInstance:               row('InstanceLaunchRequested>PENDING', C, C, C, C, C, C, C, C, C, C),
  RecordContainerCreated:       row(N, 'InstanceContainerCreated>STARTING', 'noop', I, I, I, I, I, I, I, I),
  RecordNetworkAttached:        row(N, I, 'InstanceNetworkAttached>STARTING', I, I, I, I, I, I, I, I),
  RecordInstanceStarted:        row(N, I, 'InstanceStarted>RUNNING', 'InstanceStarted>RUNNING', 'noop', I, I, I, I, I, I),
  RecordLaunchFailed:           row(N, 'InstanceLaunchFailed>ERROR', 'InstanceLaunchFailed>ERROR', I, I, I, I, I, I, I, 'noop'),
  StopInstance:                 row(N, I, I, I, 'InstanceStopRequested>STOPPING', 'InstanceStopRequested>STOPPING', 'noop', 'noop', I, I, I),
  RecordInstanceStopped:        row(N, I, I, I, I, I, 'InstanceStopped>STOPPED', 'noop', I, I, I),
  StartInstance:                row(N, I, 'noop', 'noop', 'noop', I, I, 'InstanceStartRequested>STARTING', I, I, I),
  RebootInstance:               row(N, I, I, I, 'InstanceRebooted>RUNNING', I, I, I, I, I, I),
  PauseInstance:                row(N, I, I, I, 'InstancePaused>PAUSED', I, I, I, I, I, I),
  ResumeInstance:               row(N, I, I, I, I, 'InstanceResumed>RUNNING', I, I, I, I, I),
  ResizeInstance:               row(N, I, I, I, 'InstanceResized>RUNNING', I, I, 'InstanceResized>STOPPED', I, I, I),
  UpdateInstance:               row(N, 'InstanceRenamed>PENDING', 'InstanceRenamed>STARTING', 'InstanceRenamed>STARTING', 'InstanceRenamed>RUNNING', 'InstanceRenamed>PAUSED', 'InstanceRenamed>STOPPING', 'InstanceRenamed>STOPPED', 'InstanceRenamed>TERMINATING', I, 'InstanceRenamed>ERROR'),
  RequestVolumesChange:         row(N, I, I, I, 'InstanceVolumesChangeRequested>RUNNING', I, I, 'InstanceVolumesChangeRequested>STOPPED', I, I, I),
  RecordVolumesChanged:         row(N, I, I, I, 'InstanceVolumesChanged>RUNNING', I, I, 'InstanceVolumesChanged>STOPPED', I, I, I),
  TerminateInstance:            row(N, 'InstanceTerminationRequested>TERMINATING', 'InstanceTerminationRequested>TERMINATING', 'InstanceTerminationRequested>TERMINATING', 'InstanceTerminationRequested>TERMINATING', 'InstanceTerminationRequested>TERMINATING', 'InstanceTerminationRequested>TERMINATING', 'InstanceTerminationRequested>TERMINATING', 'noop', 'noop', 'InstanceTerminationRequested>TERMINATING'),
  RecordInstanceTerminated:     row(N, I, I, I, I, I, I, I, 'InstanceTerminated>TERMINATED', 'noop', I),
  'RecordOperationFailed(start)': row(N, I, I, 'InstanceFailed>ERROR', I, I, I, I, I, I, 'noop'),
  'RecordOperationFailed(stop)':  row(N, I, I, I, I, I, 'InstanceFailed>ERROR', I, I, I, 'noop'),
  RecordContainerRunning:       row(N, 'noop', 'InstanceStarted>RUNNING', 'InstanceStarted>RUNNING', 'noop', 'InstanceResumed>RUNNING', 'noop', 'InstanceStarted>RUNNING', 'noop', 'noop', 'noop'),
  RecordContainerPaused:        row(N, 'noop', 'noop', 'noop', 'InstancePaused>PAUSED', 'noop', 'noop', 'noop', 'noop', 'noop', 'noop'),
  RecordContainerExited:        row(N, 'noop', 'noop', 'noop', 'InstanceStopped>STOPPED', 'InstanceStopped>STOPPED', 'InstanceStopped>STOPPED', 'noop', 'noop', 'noop', 'noop'),
  RecordContainerVanished:      row(N, 'noop', 'noop', 'InstanceFailed>ERROR', 'InstanceFailed>ERROR', 'InstanceFailed>ERROR', 'InstanceFailed>ERROR', 'InstanceFailed>ERROR', 'noop', 'noop', 'noop'),
};

function row(...cells: Cell[]): Record<StateKey, Cell> {
  if (cells.length !== STATE_KEYS.length) throw new Error(`row needs ${STATE_KEYS.length} cells`);
  return Object.fromEntries(STATE_KEYS.map((k, i) => [k, cells[i]])) as Record<StateKey, Cell>;
}

function outcome(command: InstanceCommand, history: InstanceEvent[]): Cell {
  const state = fold(history);
  let events: InstanceEvent[];
  try {
    events = instanceDecider.decide(command, state);
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  if (events.length === 0) return 'noop';
  const after = events.reduce(instanceDecider.evolve, state);
  return `${events.map((e) => e.type).join('+')}>${after.status}`;
}

describe('instance state machine: every (state, command) pair', () => {
  it('the table covers every command type and every status', () => {
    const covered = new Set(Object.values(COMMANDS).map((c) => c.type));
    const all: InstanceCommandType[] = [
      'LaunchInstance',
      'RecordContainerCreated',
      'RecordNetworkAttached',
      'RecordInstanceStarted',
      'RecordLaunchFailed',
      'StopInstance',
      'RecordInstanceStopped',
      'StartInstance',
      'RebootInstance',
      'PauseInstance',
      'ResumeInstance',
      'ResizeInstance',
      'UpdateInstance',
      'RequestVolumesChange',
      'RecordVolumesChanged',
      'TerminateInstance',
      'RecordInstanceTerminated',
      'RecordOperationFailed',
      'RecordContainerRunning',
      'RecordContainerPaused',
      'RecordContainerExited',
      'RecordContainerVanished',
    ];
    expect([...covered].sort()).toEqual([...all].sort());
    expect(Object.keys(TABLE).sort()).toEqual(Object.keys(COMMANDS).sort());
    const reached = new Set(STATE_KEYS.map((k) => fold(HISTORIES[k]).status));
    expect([...reached].sort()).toEqual(['NONE', ...INSTANCE_STATUSES].sort());
  });

  for (const [name, command] of Object.entries(COMMANDS)) {
    describe(name, () => {
      for (const key of STATE_KEYS) {
        const expected = TABLE[name][key];
        it(`in ${key} -> ${expected}`, () => {
          expect(outcome(command, HISTORIES[key])).toBe(expected);
        });
      }
    });
  }

  it('every invalid_state names the current state and the allowed ones', () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      for (const key of STATE_KEYS) {
        if (TABLE[name][key] !== I) continue;
        const state = fold(HISTORIES[key]);
        try {
          instanceDecider.decide(command, state);
        } catch (err) {
          const e = err as AppError;
          expect(e.message, `${name} in ${key}`).toContain(`instance`);
          expect(e.message, `${name} in ${key}`).toMatch(
            new RegExp(`${state.status}|already has container|launching|no container`),
          );
          expect(e.details?.status, `${name} in ${key}`).toBe(state.status);
        }
      }
    }
  });
});

// ---------------------------------------------------------------- specific behaviour

describe('instance decider: given/when/then', () => {
  const s = spec(instanceDecider);

  it('launch records the request with the type and price of the time, normalised mounts', () => {
    s.given([]).when(launch).then([ev.launched]);
  });

  it('launch keeps user data and tags', () => {
    s.given([])
      .when({ ...launch, userData: '#!/bin/sh\necho hi', tags: { env: 'prod' } })
      .thenState((state) => {
        expect(state.userData).toBe('#!/bin/sh\necho hi');
        expect(state.tags).toEqual({ env: 'prod' });
        expect(state.tenantId).toBe(TENANT);
        expect(state.launching).toBe(true);
      });
  });

  it.each([
    ['empty name', { name: '' }, /name/],
    ['name too long', { name: 'x'.repeat(65) }, /name/],
    ['emoji in the name', { name: 'web-🚀' }, /name/],
    [
      'duplicate host ports',
      {
        ports: [
          { host: 80, container: 80 },
          { host: 80, container: 81 },
        ],
      },
      /ports/,
    ],
    ['port out of range', { ports: [{ host: 0, container: 80 }] }, /ports/],
    ['relative mount path', { volumes: [{ volumeId: 'v', mountPath: 'data' }] }, /mount_path/],
    ['mount at /', { volumes: [{ volumeId: 'v', mountPath: '/' }] }, /mount_path/],
    ['image without docker id', { image: { ...image, dockerImageId: '' } }, /image/],
    ['user data too large', { userData: 'x'.repeat(16 * 1024 + 1) }, /user_data/],
  ] as const)('launch rejects %s (400)', (_label, patch, message) => {
    s.given([])
      .when({ ...launch, ...patch } as LaunchInstance)
      .thenThrows('validation_error', message);
  });

  it('launch of an existing id is a conflict', () => {
    s.given([ev.launched]).when(launch).thenThrows('conflict');
  });

  it('the launch saga records its steps up to RUNNING, cause launch', () => {
    s.given([ev.launched, ev.created, ev.network])
      .when({ type: 'RecordInstanceStarted', now: NOW })
      .then([
        {
          type: 'InstanceStarted',
          data: { instanceId: ID, cause: 'launch', instanceType: snapshotOf(BASIC_2), at: at(NOW) },
        },
      ]);
  });

  it('a repeated container creation with another id is rejected', () => {
    s.given([ev.launched, ev.created])
      .when({ type: 'RecordContainerCreated', containerId: 'c-2', now: NOW })
      .thenThrows('invalid_state', /already has container c-1/);
  });

  it('network attachment repeated with the same data is a no-op', () => {
    s.given([ev.launched, ev.created, ev.network])
      .when({
        type: 'RecordNetworkAttached',
        vpcId: null,
        subnetId: null,
        privateIp: null,
        now: NOW,
      })
      .then([]);
  });

  it('started is refused during a launch before the container exists', () => {
    const pendingStarting = [ev.launched];
    s.given(pendingStarting)
      .when({ type: 'RecordInstanceStarted', now: NOW })
      .thenThrows('invalid_state', /instance is PENDING; start completion needs STARTING/);
  });

  it('launch failure names the step and what compensation must clean up', () => {
    s.given([ev.launched, ev.created])
      .when({ type: 'RecordLaunchFailed', step: 'attach_network', reason: 'no bridge', now: NOW })
      .then([
        {
          type: 'InstanceLaunchFailed',
          data: {
            instanceId: ID,
            step: 'attach_network',
            reason: 'no bridge',
            containerId: 'c-1',
            volumeIds: ['vol-1'],
            at: at(NOW),
          },
        },
      ]);
  });

  it('a failing start after a stop must be recorded as a start failure, not a launch failure', () => {
    s.given(HISTORIES['STARTING(restart)'])
      .when({ type: 'RecordLaunchFailed', step: 'start_container', reason: 'x', now: NOW })
      .thenThrows('invalid_state');
    s.given(HISTORIES['STARTING(launch)'])
      .when({ type: 'RecordOperationFailed', operation: 'start', reason: 'x', now: NOW })
      .thenThrows('invalid_state', /launching/);
  });

  it('pause on a STOPPED instance explains the state and what pause needs', () => {
    s.given(STOPPED)
      .when({ type: 'PauseInstance', now: NOW })
      .thenThrows('invalid_state', /^instance is STOPPED; pause needs RUNNING$/);
  });

  it('pause on a PAUSED instance is 409, as the API reference says', () => {
    s.given(HISTORIES.PAUSED)
      .when({ type: 'PauseInstance', now: NOW })
      .thenThrows('invalid_state', /^instance is PAUSED; pause needs RUNNING$/);
  });

  it('resume on a RUNNING instance is 409', () => {
    s.given(RUNNING)
      .when({ type: 'ResumeInstance', now: NOW })
      .thenThrows('invalid_state', /^instance is RUNNING; resume needs PAUSED$/);
  });

  it('stop of a STARTING instance lists both states that allow stop', () => {
    s.given(HISTORIES['STARTING(launch)'])
      .when({ type: 'StopInstance', now: NOW })
      .thenThrows('invalid_state', /^instance is STARTING; stop needs RUNNING or PAUSED$/);
  });

  it('stop of a PAUSED instance records where it came from', () => {
    s.given(HISTORIES.PAUSED)
      .when({ type: 'StopInstance', now: NOW })
      .then([
        { type: 'InstanceStopRequested', data: { instanceId: ID, from: 'PAUSED', at: at(NOW) } },
      ]);
  });

  it('start after stop completes with cause start', () => {
    s.given(HISTORIES['STARTING(restart)'])
      .when({ type: 'RecordInstanceStarted', now: NOW })
      .thenState((state, events) => {
        expect(state.status).toBe('RUNNING');
        expect(events[0]).toMatchObject({ data: { cause: 'start' } });
      });
  });

  it('resize emits the old and the new type with their prices', () => {
    s.given(RUNNING)
      .when({ type: 'ResizeInstance', instanceType: BASIC_4, now: NOW })
      .then([
        {
          type: 'InstanceResized',
          data: {
            instanceId: ID,
            from: { id: 'basic-2', vcpus: 1, memoryMb: 1024, pricePerHourMicroUsd: 20_000 },
            to: { id: 'basic-4', vcpus: 2, memoryMb: 2048, pricePerHourMicroUsd: 40_000 },
            status: 'RUNNING',
            at: at(NOW),
          },
        },
      ]);
  });

  it('resize to the current type is a no-op; the next start bills the new type', () => {
    s.given(RUNNING).when({ type: 'ResizeInstance', instanceType: BASIC_2, now: NOW }).then([]);
    const resized: InstanceEvent = {
      type: 'InstanceResized',
      data: {
        instanceId: ID,
        from: snapshotOf(BASIC_2),
        to: snapshotOf(BASIC_4),
        status: 'STOPPED',
        at: at(NOW),
      },
    };
    s.given([...STOPPED, resized, ev.startRequested])
      .when({ type: 'RecordInstanceStarted', now: NOW })
      .thenState((state, events) => {
        expect(state.instanceType?.id).toBe('basic-4');
        expect(events[0]).toMatchObject({
          data: { instanceType: { pricePerHourMicroUsd: 40_000 } },
        });
      });
  });

  it('resize of a PAUSED instance asks to resume first', () => {
    s.given(HISTORIES.PAUSED)
      .when({ type: 'ResizeInstance', instanceType: BASIC_4, now: NOW })
      .thenThrows('invalid_state', /^instance is PAUSED; resize needs RUNNING or STOPPED$/);
  });

  it('update renames and replaces tags, only what changed', () => {
    s.given(RUNNING)
      .when({ type: 'UpdateInstance', name: 'web-01', tags: { env: 'prod', team: 'a' }, now: NOW })
      .then([
        {
          type: 'InstanceTagsChanged',
          data: { instanceId: ID, tags: { env: 'prod', team: 'a' }, at: at(NOW) },
        },
      ]);
    s.given(RUNNING).when({ type: 'UpdateInstance', name: 'web-01', tags: {}, now: NOW }).then([]);
  });

  it('update validates the name and the tags', () => {
    s.given(RUNNING)
      .when({ type: 'UpdateInstance', name: '', now: NOW })
      .thenThrows('validation_error', /name/);
    s.given(RUNNING)
      .when({ type: 'UpdateInstance', tags: { 'nimbus:owner': 'x' }, now: NOW })
      .thenThrows('validation_error', /reserved/);
  });

  it('a TERMINATED instance keeps its final state and refuses updates', () => {
    s.given(HISTORIES.TERMINATED)
      .when({ type: 'UpdateInstance', name: 'x', now: NOW })
      .thenThrows('invalid_state', /^instance is TERMINATED; update needs/);
    expect(fold(HISTORIES.TERMINATED)).toMatchObject({ status: 'TERMINATED', name: 'web-01' });
  });

  it('terminate records what must be cleaned up; terminating twice is a no-op', () => {
    s.given(HISTORIES['STARTING(launch)'])
      .when({ type: 'TerminateInstance', now: NOW })
      .then([
        {
          type: 'InstanceTerminationRequested',
          data: {
            instanceId: ID,
            from: 'STARTING',
            containerId: 'c-1',
            volumeIds: ['vol-1'],
            at: at(NOW),
          },
        },
      ]);
    s.given(HISTORIES.TERMINATING).when({ type: 'TerminateInstance', now: NOW }).then([]);
  });

  it('terminate during a launch stops the saga from recording further steps', () => {
    s.given([
      ev.launched,
      {
        ...ev.terminationRequested,
        data: { ...ev.terminationRequested.data, from: 'PENDING', containerId: null },
      },
    ])
      .when({ type: 'RecordContainerCreated', containerId: 'c-1', now: NOW })
      .thenThrows('invalid_state', /instance is TERMINATING/);
  });

  it('terminated carries the type and volumes for billing and cleanup', () => {
    s.given(HISTORIES.TERMINATING)
      .when({ type: 'RecordInstanceTerminated', now: NOW })
      .then([
        {
          type: 'InstanceTerminated',
          data: { instanceId: ID, instanceTypeId: 'basic-2', volumeIds: ['vol-1'], at: at(NOW) },
        },
      ]);
  });

  it('a container that exits becomes STOPPED with its exit code', () => {
    s.given(RUNNING)
      .when({ type: 'RecordContainerExited', exitCode: 137, now: NOW })
      .then([
        {
          type: 'InstanceStopped',
          data: { instanceId: ID, cause: 'container_exited', exitCode: 137, at: at(NOW) },
        },
      ]);
  });

  it('an exit during a requested stop completes that stop', () => {
    s.given(HISTORIES.STOPPING)
      .when({ type: 'RecordContainerExited', exitCode: 0, now: NOW })
      .then([
        {
          type: 'InstanceStopped',
          data: { instanceId: ID, cause: 'requested', exitCode: 0, at: at(NOW) },
        },
      ]);
  });

  it('a container removed behind our back leaves the instance in ERROR with a reason', () => {
    s.given(RUNNING)
      .when({ type: 'RecordContainerVanished', now: NOW })
      .thenState((state) => {
        expect(state.status).toBe('ERROR');
        expect(state.errorReason).toMatch(/removed outside Nimbus/);
      });
  });

  it('a container gone during a launch is left to the launch saga, which records why it failed', () => {
    // The saga removes a container that would not start while compensating; the engine's
    // "destroy" event must not turn that into "removed outside Nimbus".
    s.given(HISTORIES['STARTING(launch)'])
      .when({ type: 'RecordContainerVanished', now: NOW })
      .then([]);
  });

  it('a container started behind our back is recorded as started by the engine', () => {
    s.given(STOPPED)
      .when({ type: 'RecordContainerRunning', now: NOW })
      .then([
        {
          type: 'InstanceStarted',
          data: { instanceId: ID, cause: 'engine', instanceType: snapshotOf(BASIC_2), at: at(NOW) },
        },
      ]);
  });

  it('commands on an instance that does not exist are 404', () => {
    s.given([]).when({ type: 'StopInstance', now: NOW }).thenThrows('not_found');
  });
});

describe('instance decider: volume changes', () => {
  const s = spec(instanceDecider);

  it('records the whole new mount set and what changed; terminate then names every volume', () => {
    s.given([...RUNNING])
      .when({
        type: 'RecordVolumesChanged',
        volumes: [{ volumeId: 'vol-2', mountPath: '/logs/' }],
        containerId: 'c-2',
        now: NOW,
      })
      .then([
        {
          type: 'InstanceVolumesChanged',
          data: {
            instanceId: ID,
            volumes: [{ volumeId: 'vol-2', mountPath: '/logs' }],
            attached: ['vol-2'],
            detached: ['vol-1'],
            containerId: 'c-2',
            at: at(NOW),
          },
        },
      ]);
    const after = fold([
      ...RUNNING,
      {
        type: 'InstanceVolumesChanged',
        data: {
          instanceId: ID,
          volumes: [{ volumeId: 'vol-2', mountPath: '/logs' }],
          attached: ['vol-2'],
          detached: ['vol-1'],
          containerId: 'c-2',
          at: at(NOW),
        },
      },
    ]);
    expect(after.containerId).toBe('c-2');
    const terminate = instanceDecider.decide({ type: 'TerminateInstance', now: NOW }, after);
    expect(terminate[0]).toMatchObject({ data: { volumeIds: ['vol-2'], containerId: 'c-2' } });
  });

  it('the same set on the same container is a no-op (a retried request)', () => {
    s.given([...RUNNING])
      .when({
        type: 'RecordVolumesChanged',
        volumes: [{ volumeId: 'vol-1', mountPath: '/data' }],
        containerId: 'c-1',
        now: NOW,
      })
      .then([]);
  });

  const requested: InstanceEvent = {
    type: 'InstanceVolumesChangeRequested',
    data: {
      instanceId: ID,
      volumes: [{ volumeId: 'vol-2', mountPath: '/logs' }],
      snapshot: 'nimbus-snapshot/x:1',
      running: true,
      at: at(NOW),
    },
  };

  it('a change in flight: the same request is a no-op, another is 409; drift but vanished is ignored', () => {
    const request = {
      type: 'RequestVolumesChange' as const,
      volumes: [{ volumeId: 'vol-2', mountPath: '/logs/' }],
      snapshot: 'nimbus-snapshot/x:1',
      now: NOW,
    };
    s.given([...RUNNING])
      .when(request)
      .then([requested]);
    s.given([...RUNNING, requested])
      .when(request)
      .then([]);
    s.given([...RUNNING, requested])
      .when({ ...request, snapshot: 'nimbus-snapshot/x:2' })
      .thenThrows('invalid_state');
    s.given([...RUNNING, requested])
      .when({ type: 'RecordContainerExited', exitCode: 137, now: NOW })
      .then([]);
    s.given([...RUNNING, requested])
      .when({ type: 'RecordContainerVanished', now: NOW })
      .thenState((state) => {
        expect(state.status).toBe('ERROR');
        expect(state.volumeChange).toBeNull();
      });
  });

  it('recording the previous set (the change undone) settles the change too', () => {
    s.given([...RUNNING, requested])
      .when({
        type: 'RecordVolumesChanged',
        volumes: [{ volumeId: 'vol-1', mountPath: '/data' }],
        containerId: 'c-1',
        now: NOW,
      })
      .thenState((state) => {
        expect(state.volumeChange).toBeNull();
        expect(state.volumes).toEqual([{ volumeId: 'vol-1', mountPath: '/data' }]);
      });
  });

  it('PAUSED is 409 invalid_state (resume first)', () => {
    s.given([...RUNNING, ev.paused])
      .when({ type: 'RecordVolumesChanged', volumes: [], containerId: 'c-2', now: NOW })
      .thenThrows('invalid_state');
  });
});

describe('instance helpers', () => {
  it('allowedActions lists what each state accepts', () => {
    expect(allowedActions('RUNNING')).toEqual([
      'stop',
      'reboot',
      'pause',
      'resize',
      'update',
      'terminate',
    ]);
    expect(allowedActions('PAUSED')).toEqual(['stop', 'resume', 'update', 'terminate']);
    expect(allowedActions('STOPPED')).toEqual(['start', 'resize', 'update', 'terminate']);
    expect(allowedActions('ERROR')).toEqual(['update', 'terminate']);
    expect(allowedActions('TERMINATED')).toEqual([]);
  });

  it('driftCommand maps engine observations to drift commands', () => {
    expect(driftCommand({ state: 'running' }, NOW)).toEqual({
      type: 'RecordContainerRunning',
      now: NOW,
    });
    expect(driftCommand({ state: 'paused' }, NOW)).toEqual({
      type: 'RecordContainerPaused',
      now: NOW,
    });
    expect(driftCommand({ state: 'exited', exitCode: 1 }, NOW)).toEqual({
      type: 'RecordContainerExited',
      exitCode: 1,
      now: NOW,
    });
    expect(driftCommand({ state: 'missing' }, NOW)).toEqual({
      type: 'RecordContainerVanished',
      now: NOW,
    });
  });

  it('decide is deterministic: the same command and state give the same events', () => {
    const state = fold(RUNNING);
    const cmd: InstanceCommand = { type: 'StopInstance', now: NOW };
    expect(instanceDecider.decide(cmd, state)).toEqual(instanceDecider.decide(cmd, state));
  });
});

describe("managed instances (a cluster's nodes)", () => {
  const s = spec(instanceDecider);
  const CLUSTER = '7c0f9e52-3c1b-4c3e-9a55-0d9f3b1f6a10';
  const register: InstanceCommand = {
    type: 'RegisterManagedInstance',
    instanceId: ID,
    tenantId: TENANT,
    name: 'prod-worker-0',
    managedBy: { kind: 'cluster', id: CLUSTER, role: 'worker-0' },
    imageReference: 'registry.example/k8s-node:1',
    containerId: 'c-node',
    vpcId: 'vpc-1',
    subnetId: 'subnet-1',
    privateIp: '10.0.1.12',
    now: T0,
  };
  const registered: InstanceEvent[] = [
    {
      type: 'InstanceLaunchRequested',
      data: {
        instanceId: ID,
        tenantId: TENANT,
        name: 'prod-worker-0',
        image: {
          id: null,
          name: 'registry.example/k8s-node:1',
          dockerImageId: 'registry.example/k8s-node:1',
        },
        instanceType: MANAGED_INSTANCE_TYPE,
        vpcId: 'vpc-1',
        subnetId: 'subnet-1',
        ports: [],
        volumes: [],
        userData: null,
        tags: {},
        managedBy: { kind: 'cluster', id: CLUSTER, role: 'worker-0' },
        at: at(T0),
      },
    },
    {
      type: 'InstanceContainerCreated',
      data: { instanceId: ID, containerId: 'c-node', at: at(T0) },
    },
    {
      type: 'InstanceNetworkAttached',
      data: {
        instanceId: ID,
        vpcId: 'vpc-1',
        subnetId: 'subnet-1',
        privateIp: '10.0.1.12',
        at: at(T0),
      },
    },
    {
      type: 'InstanceStarted',
      data: { instanceId: ID, cause: 'launch', instanceType: MANAGED_INSTANCE_TYPE, at: at(T0) },
    },
  ];

  it('is recorded RUNNING at once, with its container, NIC and owner', () => {
    s.given([]).when(register).then(registered);
    const state = registered.reduce(instanceDecider.evolve, instanceDecider.initialState());
    expect(state).toMatchObject({
      status: 'RUNNING',
      launching: false,
      containerId: 'c-node',
      privateIp: '10.0.1.12',
      managedBy: { kind: 'cluster', id: CLUSTER, role: 'worker-0' },
    });
  });

  it('registering the same container again is a no-op; another one on that id conflicts', () => {
    s.given(registered).when(register).then([]);
    s.given(registered)
      .when({ ...register, containerId: 'c-other' })
      .thenThrows('conflict');
    s.given([ev.launched]).when(register).thenThrows('conflict');
  });

  it.each([
    { type: 'StopInstance', now: NOW },
    { type: 'RebootInstance', now: NOW },
    { type: 'PauseInstance', now: NOW },
    { type: 'ResizeInstance', instanceType: BASIC_4, now: NOW },
    { type: 'RequestVolumesChange', volumes: [], snapshot: 'snap', now: NOW },
    { type: 'TerminateInstance', now: NOW },
  ] as InstanceCommand[])('a user cannot $type it: its cluster manages it (409)', (command) => {
    s.given(registered)
      .when(command)
      .thenThrows('invalid_state', /worker-0 of cluster/);
  });

  it('can be renamed and tagged, and drift is still recorded', () => {
    s.given(registered)
      .when({ type: 'UpdateInstance', tags: { team: 'k8s' }, now: NOW })
      .then([
        {
          type: 'InstanceTagsChanged',
          data: { instanceId: ID, tags: { team: 'k8s' }, at: at(NOW) },
        },
      ]);
  });

  it('its owner removing it terminates it once; a tenant instance cannot be removed that way', () => {
    const removed: InstanceEvent[] = [
      {
        type: 'InstanceTerminationRequested',
        data: {
          instanceId: ID,
          from: 'RUNNING',
          containerId: 'c-node',
          volumeIds: [],
          at: at(NOW),
        },
      },
      {
        type: 'InstanceTerminated',
        data: { instanceId: ID, instanceTypeId: 'managed', volumeIds: [], at: at(NOW) },
      },
    ];
    s.given(registered).when({ type: 'RecordManagedInstanceRemoved', now: NOW }).then(removed);
    s.given([...registered, ...removed])
      .when({ type: 'RecordManagedInstanceRemoved', now: NOW })
      .then([]);
    s.given(RUNNING)
      .when({ type: 'RecordManagedInstanceRemoved', now: NOW })
      .thenThrows('invalid_state');
    s.given([]).when({ type: 'RecordManagedInstanceRemoved', now: NOW }).thenThrows('not_found');
  });
});
