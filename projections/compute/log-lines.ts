import type { ImageEvent, InstanceEvent, VolumeEvent } from '../../src/compute/domain';
import type { RecordedEvent } from '../../src/eventstore/event-store';

export type LogLevel = 'INFO' | 'WARN' | 'ERROR';

export interface LogLineRow {
  tenantId: string | null;
  resourceId: string;
  resourceType: 'instance' | 'image' | 'volume';
  level: LogLevel;
  message: string;
  at: string;
  dedupeKey: string;
}

type ComputeEvent = InstanceEvent | ImageEvent | VolumeEvent;

function describe(event: ComputeEvent): { level: LogLevel; message: string } | null {
  switch (event.type) {
    case 'InstanceLaunchRequested':
      return {
        level: 'INFO',
        message: `launch requested: ${event.data.name} (${event.data.instanceType.id}) from image ${event.data.image.name}`,
      };
    case 'InstanceContainerCreated':
      return {
        level: 'INFO',
        message: `container created: ${event.data.containerId.slice(0, 12)}`,
      };
    case 'InstanceNetworkAttached':
      return { level: 'INFO', message: 'network attached' };
    case 'InstanceStarted':
      return { level: 'INFO', message: `instance running (${event.data.cause})` };
    case 'InstanceLaunchFailed':
      return {
        level: 'ERROR',
        message: `launch failed at ${event.data.step}: ${event.data.reason}`,
      };
    case 'InstanceStopRequested':
      return { level: 'INFO', message: 'stop requested' };
    case 'InstanceStopped':
      return event.data.cause === 'container_exited'
        ? {
            level: 'WARN',
            message: `container exited on its own (exit code ${event.data.exitCode ?? 'unknown'})`,
          }
        : {
            level: 'INFO',
            message: `instance stopped (exit code ${event.data.exitCode ?? 'unknown'})`,
          };
    case 'InstanceStartRequested':
      return { level: 'INFO', message: 'start requested' };
    case 'InstanceRebooted':
      return { level: 'INFO', message: 'instance rebooted' };
    case 'InstancePaused':
      return { level: 'INFO', message: `instance paused (${event.data.cause})` };
    case 'InstanceResumed':
      return { level: 'INFO', message: `instance resumed (${event.data.cause})` };
    case 'InstanceResized':
      return {
        level: 'INFO',
        message: `resized from ${event.data.from.id} to ${event.data.to.id}`,
      };
    case 'InstanceRenamed':
      return { level: 'INFO', message: `renamed from ${event.data.from} to ${event.data.to}` };
    case 'InstanceTagsChanged':
      return { level: 'INFO', message: 'tags changed' };
    case 'InstanceVolumesChangeRequested':
      return { level: 'INFO', message: 'volume change requested (container re-created)' };
    case 'InstanceVolumesChanged':
      return {
        level: 'INFO',
        message: `volumes changed (attached: ${event.data.attached.join(', ') || 'none'}; detached: ${event.data.detached.join(', ') || 'none'})`,
      };
    case 'InstanceTerminationRequested':
      return { level: 'INFO', message: 'termination requested' };
    case 'InstanceTerminated':
      return { level: 'INFO', message: 'instance terminated' };
    case 'InstanceFailed':
      return {
        level: 'ERROR',
        message: `instance failed (${event.data.cause}): ${event.data.reason}`,
      };
    case 'ImageRegistered':
      return { level: 'INFO', message: `image registered: ${event.data.name}` };
    case 'ImageImportStarted':
      return {
        level: 'INFO',
        message: `image import started (${event.data.source}${event.data.url ? ` ${event.data.url}` : ''})`,
      };
    case 'ImageImported':
      return { level: 'INFO', message: `image imported (${event.data.sizeBytes} bytes)` };
    case 'ImageImportFailed':
      return { level: 'ERROR', message: `image import failed: ${event.data.reason}` };
    case 'ImageDeleted':
      return { level: 'INFO', message: 'image deleted' };
    case 'VolumeCreated':
      return {
        level: 'INFO',
        message: `volume created: ${event.data.name} (${event.data.sizeGb} GB)`,
      };
    case 'VolumeAttached':
      return {
        level: 'INFO',
        message: `volume attached to instance ${event.data.instanceId} at ${event.data.mountPath}`,
      };
    case 'VolumeDetached':
      return { level: 'INFO', message: `volume detached from instance ${event.data.instanceId}` };
    case 'VolumeDeleted':
      return { level: 'INFO', message: 'volume deleted' };
    default:
      return null;
  }
}

/** The platform log line an event produces about its resource, or null. */
export function platformLogLine(recorded: RecordedEvent): LogLineRow | null {
  const event = { type: recorded.type, data: recorded.data } as ComputeEvent;
  const line = describe(event);
  if (!line) return null;
  const category = recorded.streamId.slice(0, recorded.streamId.indexOf('-'));
  if (category !== 'instance' && category !== 'image' && category !== 'volume') return null;
  return {
    tenantId: recorded.metadata.tenantId,
    resourceId: recorded.streamId.slice(category.length + 1),
    resourceType: category,
    level: line.level,
    message: line.message,
    at: recorded.metadata.occurredAt,
    dedupeKey: `event:${recorded.id}`,
  };
}
