/**
 * The instance aggregate (stream `instance-<instanceId>`): one container, its type, ports, volumes
 * and life cycle.
 *
 *   PENDING -> STARTING -> RUNNING <-> PAUSED
 *   RUNNING | PAUSED -> STOPPING -> STOPPED -> STARTING -> RUNNING
 *   any live state -> TERMINATING -> TERMINATED (final, stays listed)
 *   PENDING | STARTING | STOPPING | RUNNING | PAUSED | STOPPED -> ERROR (with a reason)
 *
 * Two kinds of operations (see README.md beside this file for the handler protocol):
 *
 * - Long ones (launch, start, stop, terminate) are recorded as a request that moves the instance
 *   into a transitional state (PENDING, STARTING, STOPPING, TERMINATING) *before* any effect; the
 *   saga or handler performs the effect and records its outcome (`Record...` commands). After a
 *   crash the reconciler finds the transitional state and finishes the work.
 * - Instant ones (pause, resume, reboot, resize) have no transitional state: the handler runs
 *   `decide` to validate, performs the idempotent driver call, then appends the events at the
 *   revision it read (a concurrent change makes it re-read and re-decide).
 *
 * Volume changes (attach/detach on a RUNNING or STOPPED instance) re-create the container without
 * a status change: `RequestVolumesChange` records the new set and the snapshot it is re-created
 * from (drift is ignored meanwhile, vanished excepted), `RecordVolumesChanged` settles it.
 *
 * Rename and tags touch no container. Drift commands (`RecordContainer...`) report what the engine
 * shows; they are never rejected for the instance's state, only ignored (`[]`) when they change
 * nothing or when an operation in flight will settle the state itself.
 *
 * Idempotency (a satisfied command returns `[]`): stop on STOPPING/STOPPED, start on
 * STARTING/RUNNING, terminate on TERMINATING/TERMINATED, resize to the current type, update with
 * the current name and tags, and every saga record repeated with the same data (a saga step re-run
 * after a crash). Pause and resume are strict, as the API reference demands: pause needs RUNNING
 * (a PAUSED instance answers 409), resume needs PAUSED.
 *
 * ERROR is final except for terminate (and renaming/tagging): the container is gone or broken,
 * so the user terminates it and launches again.
 *
 * Tenant checks (another tenant's instance is 404) are the handler's, before calling decide:
 * `state.tenantId` is the owner.
 */
import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { snapshotOf, type InstanceType, type InstanceTypeSnapshot } from './instance-types';
import {
  instanceNameProblems,
  normalizeMountPath,
  portMappingProblems,
  sameTags,
  tagsProblems,
  throwIfInvalid,
  userDataProblems,
  volumeMountProblems,
  type FieldProblem,
  type PortMapping,
  type Tags,
  type VolumeMount,
} from './validation';

export const INSTANCE_CATEGORY = 'instance';

export const INSTANCE_STATUSES = [
  'PENDING',
  'STARTING',
  'RUNNING',
  'PAUSED',
  'STOPPING',
  'STOPPED',
  'TERMINATING',
  'TERMINATED',
  'ERROR',
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** Every state but TERMINATED: the instance (or what is left of it) still exists. */
export const LIVE_STATUSES: readonly InstanceStatus[] = INSTANCE_STATUSES.filter(
  (s) => s !== 'TERMINATED',
);

/** Steps of the launch saga, named in InstanceLaunchFailed. */
export type LaunchStep =
  'check_quota' | 'attach_volumes' | 'create_container' | 'attach_network' | 'start_container';

/** The image resolved by the handler (must be ACTIVE and visible to the tenant). */
export interface LaunchImage {
  /** Null for a managed machine's image: the operator's, not one of the registry's. */
  id: string | null;
  name: string;
  /** What the Docker driver creates the container from (`docker import` result). */
  dockerImageId: string;
}

// ---------------------------------------------------------------- commands

interface At {
  now: Date;
}

export interface LaunchInstance extends At {
  type: 'LaunchInstance';
  instanceId: string;
  tenantId: string;
  name: string;
  image: LaunchImage;
  /** Resolved from the catalog by the handler (`resolveInstanceType`). */
  instanceType: InstanceType;
  vpcId: string | null;
  subnetId: string | null;
  /** Parsed with `parsePorts`; host-port conflicts across instances are the handler's (409). */
  ports: PortMapping[];
  volumes: VolumeMount[];
  userData: string | null;
  tags?: Tags;
}

export interface RecordContainerCreated extends At {
  type: 'RecordContainerCreated';
  containerId: string;
}

export interface RecordNetworkAttached extends At {
  type: 'RecordNetworkAttached';
  /** Null for the no-network step (until the networking context lands). */
  vpcId: string | null;
  subnetId: string | null;
  privateIp: string | null;
}

export interface RecordInstanceStarted extends At {
  type: 'RecordInstanceStarted';
}

export interface RecordLaunchFailed extends At {
  type: 'RecordLaunchFailed';
  step: LaunchStep;
  reason: string;
}

export interface StopInstance extends At {
  type: 'StopInstance';
}

export interface RecordInstanceStopped extends At {
  type: 'RecordInstanceStopped';
  exitCode: number | null;
}

export interface StartInstance extends At {
  type: 'StartInstance';
}

export interface RebootInstance extends At {
  type: 'RebootInstance';
}

export interface PauseInstance extends At {
  type: 'PauseInstance';
}

export interface ResumeInstance extends At {
  type: 'ResumeInstance';
}

export interface ResizeInstance extends At {
  type: 'ResizeInstance';
  /** Resolved from the catalog by the handler; quota for the difference reserved first. */
  instanceType: InstanceType;
}

/** PATCH /instances/:id: absent fields stay; `tags` replaces the whole set. */
export interface UpdateInstance extends At {
  type: 'UpdateInstance';
  name?: string;
  tags?: Tags;
}

/**
 * A change of the mount set is about to re-create the container (from `snapshot`, the committed
 * root filesystem). Recorded before any engine call, so the reconciler can finish it after a
 * crash; drift is ignored until `RecordVolumesChanged` settles it.
 */
export interface RequestVolumesChange extends At {
  type: 'RequestVolumesChange';
  volumes: VolumeMount[];
  snapshot: string;
}

/**
 * The instance's container was re-created with a new mount set (volume attach/detach on an
 * instance that has a container); `volumes` is the whole new set.
 */
export interface RecordVolumesChanged extends At {
  type: 'RecordVolumesChanged';
  volumes: VolumeMount[];
  containerId: string;
}

export interface TerminateInstance extends At {
  type: 'TerminateInstance';
}

export interface RecordInstanceTerminated extends At {
  type: 'RecordInstanceTerminated';
}

/** A start or stop whose driver call failed for good. */
export interface RecordOperationFailed extends At {
  type: 'RecordOperationFailed';
  operation: 'start' | 'stop';
  reason: string;
}

/** Drift: the engine shows the container running (or unpaused). */
export interface RecordContainerRunning extends At {
  type: 'RecordContainerRunning';
}

/** Drift: the engine shows the container paused. */
export interface RecordContainerPaused extends At {
  type: 'RecordContainerPaused';
}

/** Drift: the container exited (engine `die` event or reconcile); Docker "created" and "dead" count too. */
export interface RecordContainerExited extends At {
  type: 'RecordContainerExited';
  exitCode: number | null;
}

/** Drift: the container is gone (removed behind our back). */
export interface RecordContainerVanished extends At {
  type: 'RecordContainerVanished';
}

/**
 * A machine another context made and runs (a node of a Kubernetes cluster), recorded as an
 * instance of its tenant so it is listed and audited like one: RUNNING at once, with its
 * container and NIC. Only its owner changes it; a user's stop, start, resize, volume change or
 * terminate is 409 (renaming and tagging are allowed). Its usage is billed by its owner.
 */
export interface RegisterManagedInstance extends At {
  type: 'RegisterManagedInstance';
  instanceId: string;
  tenantId: string;
  name: string;
  managedBy: ManagedBy;
  /** The Docker image it runs (not one of the image registry's). */
  imageReference: string;
  containerId: string;
  vpcId: string;
  subnetId: string;
  privateIp: string;
}

/** Its owner removed the machine: TERMINATED (nothing left to clean up here). */
export interface RecordManagedInstanceRemoved extends At {
  type: 'RecordManagedInstanceRemoved';
}

/** Who owns a managed instance. */
export interface ManagedBy {
  kind: 'cluster';
  /** The owner's id (the cluster's). */
  id: string;
  /** What the machine is to its owner (the node's name). */
  role: string;
}

/** The type managed instances are recorded with: their size is their owner's business. */
export const MANAGED_INSTANCE_TYPE: InstanceTypeSnapshot = {
  id: 'managed',
  vcpus: 0,
  memoryMb: 0,
  pricePerHourMicroUsd: 0,
};

export type InstanceCommand =
  | LaunchInstance
  | RegisterManagedInstance
  | RecordManagedInstanceRemoved
  | RecordContainerCreated
  | RecordNetworkAttached
  | RecordInstanceStarted
  | RecordLaunchFailed
  | StopInstance
  | RecordInstanceStopped
  | StartInstance
  | RebootInstance
  | PauseInstance
  | ResumeInstance
  | ResizeInstance
  | UpdateInstance
  | RequestVolumesChange
  | RecordVolumesChanged
  | TerminateInstance
  | RecordInstanceTerminated
  | RecordOperationFailed
  | RecordContainerRunning
  | RecordContainerPaused
  | RecordContainerExited
  | RecordContainerVanished;

export type InstanceCommandType = InstanceCommand['type'];

// ---------------------------------------------------------------- events

/** Who caused a state change: the API user, or the engine observed by drift detection. */
export type ChangeCause = 'requested' | 'engine';

export type InstanceEvent =
  | {
      type: 'InstanceLaunchRequested';
      data: {
        instanceId: string;
        tenantId: string;
        name: string;
        image: LaunchImage;
        /** Type and price per hour at launch time. */
        instanceType: InstanceTypeSnapshot;
        vpcId: string | null;
        subnetId: string | null;
        ports: PortMapping[];
        volumes: VolumeMount[];
        userData: string | null;
        tags: Tags;
        /** Set for a machine another context runs (`RegisterManagedInstance`). */
        managedBy?: ManagedBy;
        at: string;
      };
    }
  | {
      type: 'InstanceContainerCreated';
      data: { instanceId: string; containerId: string; at: string };
    }
  | {
      type: 'InstanceNetworkAttached';
      data: {
        instanceId: string;
        vpcId: string | null;
        subnetId: string | null;
        privateIp: string | null;
        at: string;
      };
    }
  | {
      type: 'InstanceStarted';
      data: {
        instanceId: string;
        /** launch: first boot; start: after a stop; engine: started outside the API (drift). */
        cause: 'launch' | 'start' | 'engine';
        /** Type and price per hour from which the instance runs (billing starts here). */
        instanceType: InstanceTypeSnapshot;
        at: string;
      };
    }
  | {
      type: 'InstanceLaunchFailed';
      data: {
        instanceId: string;
        step: LaunchStep;
        reason: string;
        /** What compensation had to clean up (null when no container was created). */
        containerId: string | null;
        volumeIds: string[];
        at: string;
      };
    }
  | {
      type: 'InstanceStopRequested';
      data: { instanceId: string; from: 'RUNNING' | 'PAUSED'; at: string };
    }
  | {
      type: 'InstanceStopped';
      data: {
        instanceId: string;
        /** requested: a stop we asked for completed; container_exited: it exited on its own. */
        cause: 'requested' | 'container_exited';
        exitCode: number | null;
        at: string;
      };
    }
  | { type: 'InstanceStartRequested'; data: { instanceId: string; at: string } }
  | { type: 'InstanceRebooted'; data: { instanceId: string; at: string } }
  | { type: 'InstancePaused'; data: { instanceId: string; cause: ChangeCause; at: string } }
  | { type: 'InstanceResumed'; data: { instanceId: string; cause: ChangeCause; at: string } }
  | {
      type: 'InstanceResized';
      data: {
        instanceId: string;
        /** Old and new type with their prices per hour. */
        from: InstanceTypeSnapshot;
        to: InstanceTypeSnapshot;
        status: 'RUNNING' | 'STOPPED';
        at: string;
      };
    }
  | { type: 'InstanceRenamed'; data: { instanceId: string; from: string; to: string; at: string } }
  | { type: 'InstanceTagsChanged'; data: { instanceId: string; tags: Tags; at: string } }
  | {
      type: 'InstanceVolumesChangeRequested';
      data: {
        instanceId: string;
        volumes: VolumeMount[];
        snapshot: string;
        /** Whether the re-created container must be started (the instance was RUNNING). */
        running: boolean;
        at: string;
      };
    }
  | {
      type: 'InstanceVolumesChanged';
      data: {
        instanceId: string;
        /** The whole new mount set, and what changed. */
        volumes: VolumeMount[];
        attached: string[];
        detached: string[];
        containerId: string;
        at: string;
      };
    }
  | {
      type: 'InstanceTerminationRequested';
      data: {
        instanceId: string;
        from: InstanceStatus;
        /** What the termination must clean up. */
        containerId: string | null;
        volumeIds: string[];
        at: string;
      };
    }
  | {
      type: 'InstanceTerminated';
      data: { instanceId: string; instanceTypeId: string; volumeIds: string[]; at: string };
    }
  | {
      type: 'InstanceFailed';
      data: {
        instanceId: string;
        cause: 'start_failed' | 'stop_failed' | 'container_vanished';
        reason: string;
        from: InstanceStatus;
        at: string;
      };
    };

export type InstanceEventType = InstanceEvent['type'];

// ---------------------------------------------------------------- state

export interface InstanceState {
  status: 'NONE' | InstanceStatus;
  instanceId: string | null;
  tenantId: string | null;
  name: string;
  image: LaunchImage | null;
  instanceType: InstanceTypeSnapshot | null;
  vpcId: string | null;
  subnetId: string | null;
  privateIp: string | null;
  networkAttached: boolean;
  ports: readonly PortMapping[];
  volumes: readonly VolumeMount[];
  userData: string | null;
  tags: Readonly<Tags>;
  containerId: string | null;
  /** True from the launch request until the first start or the launch failure. */
  launching: boolean;
  /** A mount-set change in flight (container being re-created); null otherwise. */
  volumeChange: { volumes: readonly VolumeMount[]; snapshot: string; running: boolean } | null;
  /** Owned by another context (a cluster's node); null for the tenant's own instances. */
  managedBy: ManagedBy | null;
  errorReason: string | null;
  lastExitCode: number | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export function initialInstanceState(): InstanceState {
  return {
    status: 'NONE',
    instanceId: null,
    tenantId: null,
    name: '',
    image: null,
    instanceType: null,
    vpcId: null,
    subnetId: null,
    privateIp: null,
    networkAttached: false,
    ports: [],
    volumes: [],
    userData: null,
    tags: {},
    containerId: null,
    launching: false,
    volumeChange: null,
    managedBy: null,
    errorReason: null,
    lastExitCode: null,
    createdAt: null,
    updatedAt: null,
  };
}

export function evolveInstance(state: InstanceState, event: InstanceEvent): InstanceState {
  const s: InstanceState = { ...state, updatedAt: event.data.at };
  switch (event.type) {
    case 'InstanceLaunchRequested': {
      const d = event.data;
      return {
        ...initialInstanceState(),
        status: 'PENDING',
        instanceId: d.instanceId,
        tenantId: d.tenantId,
        name: d.name,
        image: d.image,
        instanceType: d.instanceType,
        vpcId: d.vpcId,
        subnetId: d.subnetId,
        ports: d.ports,
        volumes: d.volumes,
        userData: d.userData,
        tags: d.tags,
        launching: true,
        managedBy: d.managedBy ?? null,
        createdAt: d.at,
        updatedAt: d.at,
      };
    }
    case 'InstanceContainerCreated':
      return { ...s, status: 'STARTING', containerId: event.data.containerId };
    case 'InstanceNetworkAttached':
      return {
        ...s,
        networkAttached: true,
        vpcId: event.data.vpcId,
        subnetId: event.data.subnetId,
        privateIp: event.data.privateIp,
      };
    case 'InstanceStarted':
      return {
        ...s,
        status: 'RUNNING',
        launching: false,
        instanceType: event.data.instanceType,
        lastExitCode: null,
      };
    case 'InstanceLaunchFailed':
      return { ...s, status: 'ERROR', launching: false, errorReason: event.data.reason };
    case 'InstanceStopRequested':
      return { ...s, status: 'STOPPING' };
    case 'InstanceStopped':
      return { ...s, status: 'STOPPED', lastExitCode: event.data.exitCode };
    case 'InstanceStartRequested':
      return { ...s, status: 'STARTING' };
    case 'InstanceRebooted':
      return s;
    case 'InstancePaused':
      return { ...s, status: 'PAUSED' };
    case 'InstanceResumed':
      return { ...s, status: 'RUNNING' };
    case 'InstanceResized':
      return { ...s, instanceType: event.data.to };
    case 'InstanceRenamed':
      return { ...s, name: event.data.to };
    case 'InstanceTagsChanged':
      return { ...s, tags: event.data.tags };
    case 'InstanceVolumesChangeRequested':
      return {
        ...s,
        volumeChange: {
          volumes: event.data.volumes,
          snapshot: event.data.snapshot,
          running: event.data.running,
        },
      };
    case 'InstanceVolumesChanged':
      return {
        ...s,
        volumes: event.data.volumes,
        containerId: event.data.containerId,
        volumeChange: null,
      };
    case 'InstanceTerminationRequested':
      return { ...s, status: 'TERMINATING', launching: false };
    case 'InstanceTerminated':
      return { ...s, status: 'TERMINATED' };
    case 'InstanceFailed':
      return { ...s, status: 'ERROR', errorReason: event.data.reason, volumeChange: null };
    default:
      return state;
  }
}

// ---------------------------------------------------------------- transition rules

/** What a user may ask through the API, with the states that allow it and those where it is a no-op. */
export const USER_ACTIONS = [
  'stop',
  'start',
  'reboot',
  'pause',
  'resume',
  'resize',
  'update',
  'terminate',
] as const;
export type UserAction = (typeof USER_ACTIONS)[number];

export interface ActionRule {
  allowed: readonly InstanceStatus[];
  /** Already satisfied: the command returns [] instead of failing. */
  noop: readonly InstanceStatus[];
}

export const USER_ACTION_RULES: Readonly<Record<UserAction, ActionRule>> = {
  stop: { allowed: ['RUNNING', 'PAUSED'], noop: ['STOPPING', 'STOPPED'] },
  start: { allowed: ['STOPPED'], noop: ['STARTING', 'RUNNING'] },
  reboot: { allowed: ['RUNNING'], noop: [] },
  pause: { allowed: ['RUNNING'], noop: [] },
  resume: { allowed: ['PAUSED'], noop: [] },
  // PAUSED is excluded: lowering the memory of frozen processes can fail; resume first.
  resize: { allowed: ['RUNNING', 'STOPPED'], noop: [] },
  update: { allowed: LIVE_STATUSES, noop: [] },
  terminate: {
    allowed: LIVE_STATUSES.filter((s) => s !== 'TERMINATING'),
    noop: ['TERMINATING', 'TERMINATED'],
  },
};

/** The user actions that would be accepted (not rejected) in a state, e.g. for the API or a UI. */
export function allowedActions(status: InstanceStatus): UserAction[] {
  return USER_ACTIONS.filter((a) => USER_ACTION_RULES[a].allowed.includes(status));
}

/** Internal steps (saga, handlers, drift) with the states they apply to. */
const RECORD_RULES = {
  'container creation': { allowed: ['PENDING'], noop: [] },
  'network attachment': { allowed: ['STARTING'], noop: [] },
  'start completion': { allowed: ['STARTING'], noop: ['RUNNING'] },
  'launch failure': { allowed: ['PENDING', 'STARTING'], noop: ['ERROR'] },
  'stop completion': { allowed: ['STOPPING'], noop: ['STOPPED'] },
  'termination completion': { allowed: ['TERMINATING'], noop: ['TERMINATED'] },
  'start failure': { allowed: ['STARTING'], noop: ['ERROR'] },
  'stop failure': { allowed: ['STOPPING'], noop: ['ERROR'] },
  // The container is re-created with the new mounts; PAUSED is excluded (resume first).
  'volume change': { allowed: ['RUNNING', 'STOPPED'], noop: [] },
} as const satisfies Record<string, ActionRule>;

function listOf(statuses: readonly string[]): string {
  if (statuses.length <= 1) return statuses.join('');
  return `${statuses.slice(0, -1).join(', ')} or ${statuses[statuses.length - 1]}`;
}

export function invalidState(
  status: InstanceStatus,
  action: string,
  allowed: readonly InstanceStatus[],
): AppError {
  return AppError.invalidState(`instance is ${status}; ${action} needs ${listOf(allowed)}`, {
    status,
    action,
    allowed: [...allowed],
  });
}

/** 'go' when the rule allows the action, 'noop' when it is already satisfied; throws otherwise. */
function check(status: InstanceStatus, action: string, rule: ActionRule): 'go' | 'noop' {
  if (rule.allowed.includes(status)) return 'go';
  if (rule.noop.includes(status)) return 'noop';
  throw invalidState(status, action, rule.allowed);
}

// ---------------------------------------------------------------- decide

function launchProblems(c: LaunchInstance): FieldProblem[] {
  const problems: FieldProblem[] = [
    ...instanceNameProblems(c.name, 'name'),
    ...portMappingProblems(c.ports, 'ports'),
    ...volumeMountProblems(c.volumes, 'volumes'),
    ...userDataProblems(c.userData, 'user_data'),
    ...tagsProblems(c.tags, 'tags'),
  ];
  if (!c.image || c.image.dockerImageId === '') {
    problems.push({ path: 'image', message: 'has no imported container image' });
  }
  const t = c.instanceType;
  if (!t || !Number.isSafeInteger(t.pricePerHourMicroUsd) || t.vcpus <= 0 || t.memoryMb <= 0) {
    problems.push({ path: 'instance_type', message: 'is not a valid instance type' });
  }
  return problems;
}

function decideLaunch(c: LaunchInstance, state: InstanceState): InstanceEvent[] {
  if (state.status !== 'NONE') {
    throw new AppError('conflict', `instance ${c.instanceId} already exists`, {
      resource: 'instance',
      id: c.instanceId,
    });
  }
  throwIfInvalid(launchProblems(c));
  return [
    {
      type: 'InstanceLaunchRequested',
      data: {
        instanceId: c.instanceId,
        tenantId: c.tenantId,
        name: c.name,
        image: { id: c.image.id, name: c.image.name, dockerImageId: c.image.dockerImageId },
        instanceType: snapshotOf(c.instanceType),
        vpcId: c.vpcId,
        subnetId: c.subnetId,
        ports: c.ports.map((p) => ({ host: p.host, container: p.container })),
        volumes: c.volumes.map((v) => ({
          volumeId: v.volumeId,
          mountPath: normalizeMountPath(v.mountPath),
        })),
        userData: c.userData,
        tags: { ...(c.tags ?? {}) },
        at: c.now.toISOString(),
      },
    },
  ];
}

function normalizedMounts(mounts: readonly VolumeMount[]): VolumeMount[] {
  return mounts.map((v) => ({ volumeId: v.volumeId, mountPath: normalizeMountPath(v.mountPath) }));
}

function sameMounts(a: readonly VolumeMount[], b: readonly VolumeMount[]): boolean {
  const key = (m: readonly VolumeMount[]) =>
    m
      .map((v) => `${v.volumeId}:${v.mountPath}`)
      .sort()
      .join('|');
  return key(a) === key(b);
}

function requireText(value: string, path: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw AppError.validation(`${path} must not be empty`, [
      { path, message: 'must not be empty' },
    ]);
  }
}

function decideExisting(
  c: Exclude<
    InstanceCommand,
    LaunchInstance | RegisterManagedInstance | RecordManagedInstanceRemoved
  >,
  state: InstanceState,
  status: InstanceStatus,
): InstanceEvent[] {
  const instanceId = state.instanceId as string;
  const at = c.now.toISOString();
  const volumeIds = state.volumes.map((v) => v.volumeId);
  const type = state.instanceType as InstanceTypeSnapshot;

  switch (c.type) {
    // ---- launch saga progress
    case 'RecordContainerCreated': {
      requireText(c.containerId, 'containerId');
      if (state.launching && state.containerId !== null) {
        if (state.containerId === c.containerId) return [];
        throw AppError.invalidState(
          `instance already has container ${state.containerId}; cannot record ${c.containerId}`,
          { status, containerId: state.containerId },
        );
      }
      if (!state.launching) {
        throw invalidState(
          status,
          'container creation',
          RECORD_RULES['container creation'].allowed,
        );
      }
      check(status, 'container creation', RECORD_RULES['container creation']);
      return [
        { type: 'InstanceContainerCreated', data: { instanceId, containerId: c.containerId, at } },
      ];
    }
    case 'RecordNetworkAttached': {
      if (!state.launching) {
        throw invalidState(
          status,
          'network attachment',
          RECORD_RULES['network attachment'].allowed,
        );
      }
      check(status, 'network attachment', RECORD_RULES['network attachment']);
      if (
        state.networkAttached &&
        state.vpcId === c.vpcId &&
        state.subnetId === c.subnetId &&
        state.privateIp === c.privateIp
      ) {
        return [];
      }
      return [
        {
          type: 'InstanceNetworkAttached',
          data: { instanceId, vpcId: c.vpcId, subnetId: c.subnetId, privateIp: c.privateIp, at },
        },
      ];
    }
    case 'RecordInstanceStarted': {
      if (check(status, 'start completion', RECORD_RULES['start completion']) === 'noop') return [];
      if (state.launching && state.containerId === null) {
        throw AppError.invalidState('instance has no container yet; record its creation first', {
          status,
        });
      }
      return [
        {
          type: 'InstanceStarted',
          data: { instanceId, cause: state.launching ? 'launch' : 'start', instanceType: type, at },
        },
      ];
    }
    case 'RecordLaunchFailed': {
      requireText(c.reason, 'reason');
      if (status === 'ERROR') return [];
      if (!state.launching) {
        throw invalidState(status, 'launch failure', RECORD_RULES['launch failure'].allowed);
      }
      check(status, 'launch failure', RECORD_RULES['launch failure']);
      return [
        {
          type: 'InstanceLaunchFailed',
          data: {
            instanceId,
            step: c.step,
            reason: c.reason,
            containerId: state.containerId,
            volumeIds,
            at,
          },
        },
      ];
    }

    // ---- stop / start
    case 'StopInstance': {
      if (check(status, 'stop', USER_ACTION_RULES.stop) === 'noop') return [];
      return [
        {
          type: 'InstanceStopRequested',
          data: { instanceId, from: status as 'RUNNING' | 'PAUSED', at },
        },
      ];
    }
    case 'RecordInstanceStopped': {
      if (check(status, 'stop completion', RECORD_RULES['stop completion']) === 'noop') return [];
      return [
        {
          type: 'InstanceStopped',
          data: { instanceId, cause: 'requested', exitCode: c.exitCode, at },
        },
      ];
    }
    case 'StartInstance': {
      if (check(status, 'start', USER_ACTION_RULES.start) === 'noop') return [];
      return [{ type: 'InstanceStartRequested', data: { instanceId, at } }];
    }
    case 'RecordOperationFailed': {
      requireText(c.reason, 'reason');
      const action = c.operation === 'start' ? 'start failure' : 'stop failure';
      if (c.operation === 'start' && state.launching) {
        throw AppError.invalidState('instance is launching; record a launch failure instead', {
          status,
        });
      }
      if (check(status, action, RECORD_RULES[action]) === 'noop') return [];
      return [
        {
          type: 'InstanceFailed',
          data: {
            instanceId,
            cause: c.operation === 'start' ? 'start_failed' : 'stop_failed',
            reason: c.reason,
            from: status,
            at,
          },
        },
      ];
    }

    // ---- instant operations
    case 'RebootInstance':
      check(status, 'reboot', USER_ACTION_RULES.reboot);
      return [{ type: 'InstanceRebooted', data: { instanceId, at } }];
    case 'PauseInstance':
      check(status, 'pause', USER_ACTION_RULES.pause);
      return [{ type: 'InstancePaused', data: { instanceId, cause: 'requested', at } }];
    case 'ResumeInstance':
      check(status, 'resume', USER_ACTION_RULES.resume);
      return [{ type: 'InstanceResumed', data: { instanceId, cause: 'requested', at } }];
    case 'ResizeInstance': {
      check(status, 'resize', USER_ACTION_RULES.resize);
      const to = snapshotOf(c.instanceType);
      if (
        to.id === type.id &&
        to.vcpus === type.vcpus &&
        to.memoryMb === type.memoryMb &&
        to.pricePerHourMicroUsd === type.pricePerHourMicroUsd
      ) {
        return [];
      }
      return [
        {
          type: 'InstanceResized',
          data: { instanceId, from: type, to, status: status as 'RUNNING' | 'STOPPED', at },
        },
      ];
    }
    case 'UpdateInstance': {
      check(status, 'update', USER_ACTION_RULES.update);
      throwIfInvalid([
        ...(c.name !== undefined ? instanceNameProblems(c.name, 'name') : []),
        ...tagsProblems(c.tags, 'tags'),
      ]);
      const events: InstanceEvent[] = [];
      if (c.name !== undefined && c.name !== state.name) {
        events.push({
          type: 'InstanceRenamed',
          data: { instanceId, from: state.name, to: c.name, at },
        });
      }
      if (c.tags !== undefined && !sameTags(c.tags, state.tags)) {
        events.push({ type: 'InstanceTagsChanged', data: { instanceId, tags: { ...c.tags }, at } });
      }
      return events;
    }

    case 'RequestVolumesChange': {
      requireText(c.snapshot, 'snapshot');
      check(status, 'volume change', RECORD_RULES['volume change']);
      throwIfInvalid(volumeMountProblems(c.volumes, 'volumes'));
      const volumes = normalizedMounts(c.volumes);
      const pending = state.volumeChange;
      if (pending !== null) {
        if (pending.snapshot === c.snapshot && sameMounts(pending.volumes, volumes)) return [];
        throw AppError.invalidState('another volume change of this instance is in progress', {
          status,
          snapshot: pending.snapshot,
        });
      }
      return [
        {
          type: 'InstanceVolumesChangeRequested',
          data: { instanceId, volumes, snapshot: c.snapshot, running: status === 'RUNNING', at },
        },
      ];
    }
    case 'RecordVolumesChanged': {
      requireText(c.containerId, 'containerId');
      check(status, 'volume change', RECORD_RULES['volume change']);
      throwIfInvalid(volumeMountProblems(c.volumes, 'volumes'));
      const volumes = normalizedMounts(c.volumes);
      const key = (v: VolumeMount) => `${v.volumeId}:${v.mountPath}`;
      const before = new Set(state.volumes.map(key));
      const after = new Set(volumes.map(key));
      const attached = volumes.filter((v) => !before.has(key(v))).map((v) => v.volumeId);
      const detached = state.volumes.filter((v) => !after.has(key(v))).map((v) => v.volumeId);
      const unchanged = attached.length === 0 && detached.length === 0;
      if (unchanged && state.containerId === c.containerId && state.volumeChange === null) {
        return [];
      }
      return [
        {
          type: 'InstanceVolumesChanged',
          data: { instanceId, volumes, attached, detached, containerId: c.containerId, at },
        },
      ];
    }

    // ---- termination
    case 'TerminateInstance': {
      if (check(status, 'terminate', USER_ACTION_RULES.terminate) === 'noop') return [];
      return [
        {
          type: 'InstanceTerminationRequested',
          data: { instanceId, from: status, containerId: state.containerId, volumeIds, at },
        },
      ];
    }
    case 'RecordInstanceTerminated': {
      const rule = RECORD_RULES['termination completion'];
      if (check(status, 'termination completion', rule) === 'noop') return [];
      return [
        {
          type: 'InstanceTerminated',
          data: { instanceId, instanceTypeId: type.id, volumeIds, at },
        },
      ];
    }

    // ---- drift: never rejected, ignored when nothing changes or an operation in flight settles it
    // While the container is re-created for a volume change its engine state is not the
    // instance's: the change settles it (a vanished container still fails the instance).
    case 'RecordContainerRunning':
      if (state.volumeChange !== null) return [];
      return onContainerRunning(state, status, at);
    case 'RecordContainerPaused':
      if (state.volumeChange !== null) return [];
      return onContainerPaused(state, status, at);
    case 'RecordContainerExited':
      if (state.volumeChange !== null) return [];
      return onContainerExited(state, status, c.exitCode, at);
    case 'RecordContainerVanished':
      return onContainerVanished(state, status, at);
    default:
      return assertUnreachable(c);
  }
}

// ---------------------------------------------------------------- drift

function onContainerRunning(
  state: InstanceState,
  status: InstanceStatus,
  at: string,
): InstanceEvent[] {
  const instanceId = state.instanceId as string;
  const instanceType = state.instanceType as InstanceTypeSnapshot;
  switch (status) {
    case 'STOPPED':
      return [{ type: 'InstanceStarted', data: { instanceId, cause: 'engine', instanceType, at } }];
    case 'STARTING': {
      // A start (or the launch's last step) whose completion was not recorded before a crash.
      if (state.containerId === null) return [];
      const cause = state.launching ? 'launch' : 'start';
      return [{ type: 'InstanceStarted', data: { instanceId, cause, instanceType, at } }];
    }
    case 'PAUSED':
      return [{ type: 'InstanceResumed', data: { instanceId, cause: 'engine', at } }];
    case 'PENDING': // no container recorded yet: the saga records its own steps
    case 'RUNNING': // as recorded
    case 'STOPPING': // the stop in flight settles it
    case 'TERMINATING': // the termination in flight removes it
    case 'TERMINATED': // final
    case 'ERROR': // final; terminating cleans up whatever runs
      return [];
    default:
      return assertUnreachable(status);
  }
}

function onContainerPaused(
  state: InstanceState,
  status: InstanceStatus,
  at: string,
): InstanceEvent[] {
  switch (status) {
    case 'RUNNING':
      return [
        {
          type: 'InstancePaused',
          data: { instanceId: state.instanceId as string, cause: 'engine', at },
        },
      ];
    case 'PAUSED':
    case 'PENDING':
    case 'STARTING':
    case 'STOPPING':
    case 'STOPPED':
    case 'TERMINATING':
    case 'TERMINATED':
    case 'ERROR':
      return [];
    default:
      return assertUnreachable(status);
  }
}

function onContainerExited(
  state: InstanceState,
  status: InstanceStatus,
  exitCode: number | null,
  at: string,
): InstanceEvent[] {
  const instanceId = state.instanceId as string;
  switch (status) {
    case 'RUNNING':
    case 'PAUSED':
      return [
        { type: 'InstanceStopped', data: { instanceId, cause: 'container_exited', exitCode, at } },
      ];
    case 'STOPPING':
      // The stop we asked for completed before its handler recorded it.
      return [{ type: 'InstanceStopped', data: { instanceId, cause: 'requested', exitCode, at } }];
    case 'STARTING': // the start in flight records its outcome; the next reconcile re-checks
    case 'PENDING':
    case 'STOPPED':
    case 'TERMINATING':
    case 'TERMINATED':
    case 'ERROR':
      return [];
    default:
      return assertUnreachable(status);
  }
}

function onContainerVanished(
  state: InstanceState,
  status: InstanceStatus,
  at: string,
): InstanceEvent[] {
  switch (status) {
    case 'STARTING':
    case 'RUNNING':
    case 'PAUSED':
    case 'STOPPING':
    case 'STOPPED':
      // During a launch the launch saga owns the container: a start that fails is removed by
      // the saga's compensation, which then records the failure with the engine's reason.
      if (state.launching) return [];
      return [
        {
          type: 'InstanceFailed',
          data: {
            instanceId: state.instanceId as string,
            cause: 'container_vanished',
            reason: 'the container was removed outside Nimbus',
            from: status,
            at,
          },
        },
      ];
    case 'PENDING': // no container yet
    case 'TERMINATING': // removing it is the point
    case 'TERMINATED':
    case 'ERROR':
      return [];
    default:
      return assertUnreachable(status);
  }
}

/** What only a managed instance's owner may do to it (a user's is 409). */
const OWNER_ONLY: readonly InstanceCommandType[] = [
  'StopInstance',
  'StartInstance',
  'RebootInstance',
  'PauseInstance',
  'ResumeInstance',
  'ResizeInstance',
  'RequestVolumesChange',
  'TerminateInstance',
];

function decideRegisterManaged(c: RegisterManagedInstance, state: InstanceState): InstanceEvent[] {
  if (state.status !== 'NONE') {
    if (state.managedBy?.id === c.managedBy.id && state.containerId === c.containerId) return [];
    throw new AppError('conflict', `instance ${c.instanceId} already exists`, {
      resource: 'instance',
      id: c.instanceId,
    });
  }
  requireText(c.containerId, 'containerId');
  const instanceId = c.instanceId;
  const at = c.now.toISOString();
  return [
    {
      type: 'InstanceLaunchRequested',
      data: {
        instanceId,
        tenantId: c.tenantId,
        name: c.name,
        image: { id: null, name: c.imageReference, dockerImageId: c.imageReference },
        instanceType: MANAGED_INSTANCE_TYPE,
        vpcId: c.vpcId,
        subnetId: c.subnetId,
        ports: [],
        volumes: [],
        userData: null,
        tags: {},
        managedBy: { ...c.managedBy },
        at,
      },
    },
    { type: 'InstanceContainerCreated', data: { instanceId, containerId: c.containerId, at } },
    {
      type: 'InstanceNetworkAttached',
      data: { instanceId, vpcId: c.vpcId, subnetId: c.subnetId, privateIp: c.privateIp, at },
    },
    {
      type: 'InstanceStarted',
      data: { instanceId, cause: 'launch', instanceType: MANAGED_INSTANCE_TYPE, at },
    },
  ];
}

function decideManagedRemoved(state: InstanceState, at: string): InstanceEvent[] {
  const instanceId = state.instanceId as string;
  if (!state.managedBy) {
    throw AppError.invalidState(`instance ${instanceId} is not managed by another resource`, {
      status: state.status,
    });
  }
  if (state.status === 'TERMINATED') return [];
  return [
    {
      type: 'InstanceTerminationRequested',
      data: {
        instanceId,
        from: state.status as InstanceStatus,
        containerId: state.containerId,
        volumeIds: [],
        at,
      },
    },
    {
      type: 'InstanceTerminated',
      data: { instanceId, instanceTypeId: MANAGED_INSTANCE_TYPE.id, volumeIds: [], at },
    },
  ];
}

export function decideInstance(command: InstanceCommand, state: InstanceState): InstanceEvent[] {
  if (command.type === 'LaunchInstance') return decideLaunch(command, state);
  if (command.type === 'RegisterManagedInstance') return decideRegisterManaged(command, state);
  if (state.status === 'NONE') {
    throw new AppError('not_found', 'instance not found', { resource: 'instance' });
  }
  if (command.type === 'RecordManagedInstanceRemoved') {
    return decideManagedRemoved(state, command.now.toISOString());
  }
  const owner = state.managedBy;
  if (owner && OWNER_ONLY.includes(command.type)) {
    throw AppError.invalidState(
      `instance ${state.instanceId} is ${owner.role} of ${owner.kind} ${owner.id}, which manages it: scale or delete the ${owner.kind} instead`,
      { status: state.status, managed_by: { kind: owner.kind, id: owner.id } },
    );
  }
  return decideExisting(command, state, state.status);
}

export const instanceDecider: Decider<InstanceCommand, InstanceEvent, InstanceState> = {
  category: INSTANCE_CATEGORY,
  initialState: initialInstanceState,
  evolve: evolveInstance,
  decide: decideInstance,
};

// ---------------------------------------------------------------- helpers for handlers

export function isLive(status: InstanceState['status']): boolean {
  return status !== 'NONE' && status !== 'TERMINATED';
}

/** What the engine shows for a container (docker inspect State, or an event). */
export type ContainerObservation =
  | { state: 'running' }
  | { state: 'paused' }
  /** Docker "exited", "created" (never started) and "dead". */
  | { state: 'exited'; exitCode: number | null }
  /** No container with the instance's name or id. */
  | { state: 'missing' };

/** The drift command that reports an observation; the decider decides whether it changes anything. */
export function driftCommand(observation: ContainerObservation, now: Date): InstanceCommand {
  switch (observation.state) {
    case 'running':
      return { type: 'RecordContainerRunning', now };
    case 'paused':
      return { type: 'RecordContainerPaused', now };
    case 'exited':
      return { type: 'RecordContainerExited', exitCode: observation.exitCode, now };
    case 'missing':
      return { type: 'RecordContainerVanished', now };
    default:
      return assertUnreachable(observation);
  }
}
