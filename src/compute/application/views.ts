import {
  allowedActions,
  formatMicroUsd,
  formatPorts,
  type ImageState,
  type ImageStatus,
  type InstanceState,
  type InstanceStatus,
  type UserAction,
  type VolumeState,
  type VolumeStatus,
} from '../domain';

/** The API shape of an instance (`GET /instances/:id`). */
export interface InstanceView {
  id: string;
  name: string;
  status: InstanceStatus;
  image: string | null;
  image_id: string | null;
  instance_type: string | null;
  vcpus: number | null;
  memory_mb: number | null;
  price_per_hour: number | null;
  vpc_id: string | null;
  subnet_id: string | null;
  private_ip: string | null;
  ports: string;
  volumes: Array<{ volume_id: string; mount_path: string }>;
  tags: Record<string, string>;
  container_id: string | null;
  error_reason: string | null;
  exit_code: number | null;
  allowed_actions: UserAction[];
  /** The resource that runs this machine (a cluster's node); null for the tenant's own. */
  managed_by: { kind: 'cluster'; id: string; role: string } | null;
  created_at: string | null;
  updated_at: string | null;
}

export function instanceView(s: InstanceState): InstanceView {
  const status = s.status === 'NONE' ? 'PENDING' : s.status;
  // A managed machine's size and price are its owner's: shown there, not as an instance type.
  const type = s.managedBy ? null : s.instanceType;
  return {
    id: s.instanceId as string,
    name: s.name,
    status,
    image: s.image?.name ?? null,
    image_id: s.image?.id ?? null,
    instance_type: s.instanceType?.id ?? null,
    vcpus: type?.vcpus ?? null,
    memory_mb: type?.memoryMb ?? null,
    price_per_hour: type ? Number(formatMicroUsd(type.pricePerHourMicroUsd)) : null,
    vpc_id: s.vpcId,
    subnet_id: s.subnetId,
    private_ip: s.privateIp,
    ports: formatPorts(s.ports),
    volumes: s.volumes.map((v) => ({ volume_id: v.volumeId, mount_path: v.mountPath })),
    tags: { ...s.tags },
    container_id: s.containerId,
    error_reason: s.status === 'ERROR' ? s.errorReason : null,
    exit_code: s.lastExitCode,
    allowed_actions: s.managedBy
      ? allowedActions(status).filter((a) => a === 'update')
      : allowedActions(status),
    managed_by: s.managedBy ? { ...s.managedBy } : null,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

/** A view shows a resource that exists: its state has left NONE with its first event. */
function existing<S extends string>(status: S | 'NONE', kind: string): S {
  if (status === 'NONE') throw new Error(`a ${kind} view needs a ${kind} that exists`);
  return status;
}

/** The API shape of an image (`GET /images/:id`). */
export interface ImageView {
  id: string;
  name: string;
  description: string | null;
  os: string | null;
  version: string | null;
  /** Every image is a root filesystem imported into the container engine. */
  format: 'rootfs';
  size_gb: number | null;
  size_bytes: number | null;
  is_public: boolean;
  system: boolean;
  status: ImageStatus;
  error_reason: string | null;
  created_at: string | null;
  updated_at: string | null;
}

export function imageView(s: ImageState): ImageView {
  return {
    id: s.imageId as string,
    name: s.name,
    description: s.description,
    os: s.os,
    version: s.version,
    format: 'rootfs',
    size_gb: s.sizeBytes === null ? null : Math.round((s.sizeBytes / 1024 ** 3) * 1000) / 1000,
    size_bytes: s.sizeBytes,
    is_public: s.isPublic,
    system: s.system,
    status: existing(s.status, 'image'),
    error_reason: s.status === 'ERROR' ? s.errorReason : null,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

/** The API shape of a volume (`GET /volumes/:id`). */
export interface VolumeView {
  id: string;
  name: string;
  size_gb: number;
  status: VolumeStatus;
  instance_id: string | null;
  mount_path: string | null;
  created_at: string | null;
  updated_at: string | null;
}

export function volumeView(s: VolumeState): VolumeView {
  return {
    id: s.volumeId as string,
    name: s.name,
    size_gb: s.sizeGb,
    status: existing(s.status, 'volume'),
    instance_id: s.attachment?.instanceId ?? null,
    mount_path: s.attachment?.mountPath ?? null,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}
