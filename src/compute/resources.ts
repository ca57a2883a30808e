/**
 * Compute's resource families: what the audit log, the timeline, point-in-time state, billing and
 * the event feed know about instances, images and volumes (quota reservations are the platform's
 * quota ledger, src/platform/quotas). Each `events`
 * table names every event type of its decider (the type system checks it).
 */
import { audited, notAudited, resourceKind } from '../platform/resources/resource-kind';
import { imageView, instanceView, volumeView } from './application/views';
import {
  evolveImage,
  evolveInstance,
  evolveVolume,
  imageDecider,
  initialImageState,
  initialInstanceState,
  initialVolumeState,
  instanceDecider,
  volumeDecider,
  type ImageEvent,
  type InstanceEvent,
  type VolumeEvent,
} from './domain';

const LAUNCH_PROGRESS = 'launch progress written by the launch saga (INSTANCE_LAUNCH is audited)';
const VOLUME_SIDE = "the instance's side of VOLUME_ATTACH or VOLUME_DETACH (audited on the volume)";

export const INSTANCES = resourceKind(instanceDecider, {
  context: 'compute',
  family: 'instance',
  readModel: 'compute_instances',
  actions: {
    INSTANCE_LAUNCH: 'An instance launch was requested (or failed).',
    INSTANCE_STOP: 'An instance was asked to stop.',
    INSTANCE_START: 'An instance was asked to start.',
    INSTANCE_REBOOT: 'An instance was rebooted.',
    INSTANCE_PAUSE: 'An instance was paused.',
    INSTANCE_RESUME: 'A paused instance was resumed.',
    INSTANCE_RESIZE: 'An instance was resized to another instance type.',
    INSTANCE_RENAME: 'An instance was renamed.',
    INSTANCE_TAGS_CHANGE: "An instance's tags were changed.",
    INSTANCE_TERMINATE: 'An instance was asked to terminate.',
  },
  events: {
    InstanceLaunchRequested: audited('INSTANCE_LAUNCH'),
    InstanceContainerCreated: notAudited(LAUNCH_PROGRESS),
    InstanceNetworkAttached: notAudited(LAUNCH_PROGRESS),
    InstanceStarted: notAudited('outcome of INSTANCE_LAUNCH or INSTANCE_START, or the engine'),
    InstanceLaunchFailed: audited('INSTANCE_LAUNCH', 'failure'),
    InstanceStopRequested: audited('INSTANCE_STOP'),
    InstanceStopped: notAudited('outcome of INSTANCE_STOP, or the container exited'),
    InstanceStartRequested: audited('INSTANCE_START'),
    InstanceRebooted: audited('INSTANCE_REBOOT'),
    InstancePaused: audited('INSTANCE_PAUSE'),
    InstanceResumed: audited('INSTANCE_RESUME'),
    InstanceResized: audited('INSTANCE_RESIZE'),
    InstanceRenamed: audited('INSTANCE_RENAME'),
    InstanceTagsChanged: audited('INSTANCE_TAGS_CHANGE'),
    InstanceVolumesChangeRequested: notAudited(VOLUME_SIDE),
    InstanceVolumesChanged: notAudited(VOLUME_SIDE),
    InstanceTerminationRequested: audited('INSTANCE_TERMINATE'),
    InstanceTerminated: notAudited('outcome of INSTANCE_TERMINATE'),
    InstanceFailed: notAudited('the container failed (seen by the engine, not a request)'),
  },
  billing: {
    meter: 'instance-hours',
    resourceIdField: 'instanceId',
    events: {
      InstanceLaunchRequested: 'open',
      InstanceRenamed: 'rename',
      InstanceStarted: 'start',
      InstanceResized: 'reprice',
      InstanceStopRequested: 'stop',
      InstanceStopped: 'stop',
      InstanceTerminationRequested: 'stop',
      InstanceTerminated: 'stop',
      InstanceFailed: 'stop',
      InstanceLaunchFailed: 'stop',
    },
  },
  pointInTime: {
    field: 'instances',
    initial: initialInstanceState,
    evolve: (s, e) => evolveInstance(s, e as InstanceEvent),
    present: ({ state: s }) => (s.status === 'NONE' ? null : instanceView(s)),
  },
});

export const VOLUMES = resourceKind(volumeDecider, {
  context: 'compute',
  family: 'volume',
  readModel: 'compute_volumes',
  actions: {
    VOLUME_CREATE: 'A volume was created.',
    VOLUME_ATTACH: 'A volume was attached to an instance.',
    VOLUME_DETACH: 'A volume was detached from an instance.',
    VOLUME_DELETE: 'A volume was deleted.',
  },
  events: {
    VolumeCreated: audited('VOLUME_CREATE'),
    VolumeAttached: audited('VOLUME_ATTACH'),
    VolumeDetached: audited('VOLUME_DETACH'),
    VolumeDeleted: audited('VOLUME_DELETE'),
  },
  billing: {
    meter: 'gb-hours',
    resourceIdField: 'volumeId',
    events: { VolumeCreated: 'open', VolumeDeleted: 'stop' },
  },
  pointInTime: {
    field: 'volumes',
    initial: initialVolumeState,
    evolve: (s, e) => evolveVolume(s, e as VolumeEvent),
    present: ({ state: s }) => (s.status === 'NONE' ? null : volumeView(s)),
  },
});

export const IMAGES = resourceKind(imageDecider, {
  context: 'compute',
  family: 'image',
  readModel: 'compute_images',
  actions: {
    IMAGE_REGISTER: 'An image was registered.',
    IMAGE_IMPORT:
      "An image's root filesystem was uploaded, or its import from a URL started (or failed).",
    IMAGE_DELETE: 'An image was deleted.',
  },
  events: {
    ImageRegistered: audited('IMAGE_REGISTER'),
    ImageImportStarted: audited('IMAGE_IMPORT'),
    ImageImported: notAudited('outcome of IMAGE_IMPORT'),
    ImageImportFailed: audited('IMAGE_IMPORT', 'failure'),
    ImageDeleted: audited('IMAGE_DELETE'),
  },
  pointInTime: {
    field: 'images',
    initial: initialImageState,
    evolve: (s, e) => evolveImage(s, e as ImageEvent),
    present: ({ state: s }) => (s.imageId === null ? null : imageView(s)),
  },
});

export const COMPUTE_RESOURCE_KINDS = [INSTANCES, VOLUMES, IMAGES];
