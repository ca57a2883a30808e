import {
  evolveImage,
  evolveInstance,
  evolveVolume,
  initialImageState,
  initialInstanceState,
  initialVolumeState,
  INSTANCE_HOLDER,
  VOLUME_HOLDER,
  type ImageEvent,
  type ImageState,
  type InstanceEvent,
  type InstanceState,
  type VolumeEvent,
  type VolumeState,
} from '../../src/compute/domain';
import type { RecordedEvent } from '../../src/eventstore/event-store';
import { defineProjection } from '../runtime/projection';
import { foldInto } from '../runtime/state-fold';
import { platformLogLine } from './log-lines';

export const INSTANCES_PROJECTION = 'compute.instances';
export const IMAGES_PROJECTION = 'compute.images';
export const VOLUMES_PROJECTION = 'compute.volumes';
export const COMPUTE_LOGS_PROJECTION = 'compute.logs';
export const QUOTA_PROJECTION = 'compute.quota';

export const INSTANCE_EVENT_TYPES: readonly InstanceEvent['type'][] = [
  'InstanceLaunchRequested',
  'InstanceContainerCreated',
  'InstanceNetworkAttached',
  'InstanceStarted',
  'InstanceLaunchFailed',
  'InstanceStopRequested',
  'InstanceStopped',
  'InstanceStartRequested',
  'InstanceRebooted',
  'InstancePaused',
  'InstanceResumed',
  'InstanceResized',
  'InstanceRenamed',
  'InstanceTagsChanged',
  'InstanceVolumesChangeRequested',
  'InstanceVolumesChanged',
  'InstanceTerminationRequested',
  'InstanceTerminated',
  'InstanceFailed',
];

export const IMAGE_EVENT_TYPES: readonly ImageEvent['type'][] = [
  'ImageRegistered',
  'ImageImportStarted',
  'ImageImported',
  'ImageImportFailed',
  'ImageDeleted',
];

export const VOLUME_EVENT_TYPES: readonly VolumeEvent['type'][] = [
  'VolumeCreated',
  'VolumeAttached',
  'VolumeDetached',
  'VolumeDeleted',
];

function streamIdOf(event: RecordedEvent): string {
  return event.streamId.slice(event.streamId.indexOf('-') + 1);
}

export const instancesProjection = defineProjection({
  name: INSTANCES_PROJECTION,
  version: 1,
  eventTypes: INSTANCE_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS compute_instances (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      image_id uuid,
      instance_type text,
      host_ports integer[] NOT NULL DEFAULT '{}',
      volume_ids uuid[] NOT NULL DEFAULT '{}',
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS compute_instances_tenant ON compute_instances (tenant_id, created_at, id)',
    );
    await m.query(
      "CREATE INDEX IF NOT EXISTS compute_instances_image ON compute_instances (image_id) WHERE status <> 'TERMINATED'",
    );
    // The port publisher reads the live instances that publish ports every second.
    await m.query(
      `CREATE INDEX IF NOT EXISTS compute_instances_published ON compute_instances (id)
       WHERE status NOT IN ('TERMINATED', 'ERROR') AND host_ports <> '{}'`,
    );
  },
  async reset(m) {
    await m.query('TRUNCATE compute_instances');
  },
  async apply(events, manager) {
    await foldInto<InstanceState>(
      events,
      manager,
      'compute_instances',
      streamIdOf,
      initialInstanceState,
      (s, e) => evolveInstance(s, { type: e.type, data: e.data } as InstanceEvent),
      async (id, { state: s }, revision, m) => {
        if (s.status === 'NONE' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO compute_instances (id, tenant_id, name, status, image_id, instance_type,
             host_ports, volume_ids, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, status = EXCLUDED.status,
             instance_type = EXCLUDED.instance_type, host_ports = EXCLUDED.host_ports,
             volume_ids = EXCLUDED.volume_ids, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.name,
            s.status,
            s.image?.id ?? null,
            s.instanceType?.id ?? null,
            s.ports.map((p) => p.host),
            s.volumes.map((v) => v.volumeId),
            JSON.stringify(s),
            revision,
            s.createdAt,
            s.updatedAt ?? s.createdAt,
          ],
        );
      },
    );
  },
});

export const imagesProjection = defineProjection({
  name: IMAGES_PROJECTION,
  version: 1,
  eventTypes: IMAGE_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS compute_images (
      id uuid PRIMARY KEY,
      tenant_id uuid,
      name text NOT NULL,
      status text NOT NULL,
      is_public boolean NOT NULL,
      system boolean NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS compute_images_visible ON compute_images (tenant_id, is_public, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE compute_images');
  },
  async apply(events, manager) {
    await foldInto<ImageState>(
      events,
      manager,
      'compute_images',
      streamIdOf,
      initialImageState,
      (s, e) => evolveImage(s, { type: e.type, data: e.data } as ImageEvent),
      async (id, { state: s }, revision, m) => {
        if (s.status === 'NONE') return;
        await m.query(
          `INSERT INTO compute_images (id, tenant_id, name, status, is_public, system, state,
             revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, status = EXCLUDED.status,
             state = EXCLUDED.state, revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.name,
            s.status,
            s.isPublic,
            s.system,
            JSON.stringify(s),
            revision,
            s.createdAt,
            s.updatedAt ?? s.createdAt,
          ],
        );
      },
    );
  },
});

export const volumesProjection = defineProjection({
  name: VOLUMES_PROJECTION,
  version: 1,
  eventTypes: VOLUME_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS compute_volumes (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      instance_id uuid,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS compute_volumes_tenant ON compute_volumes (tenant_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE compute_volumes');
  },
  async apply(events, manager) {
    await foldInto<VolumeState>(
      events,
      manager,
      'compute_volumes',
      streamIdOf,
      initialVolumeState,
      (s, e) => evolveVolume(s, { type: e.type, data: e.data } as VolumeEvent),
      async (id, { state: s }, revision, m) => {
        if (s.status === 'NONE' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO compute_volumes (id, tenant_id, name, status, instance_id, state, revision,
             created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, status = EXCLUDED.status,
             instance_id = EXCLUDED.instance_id, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.name,
            s.status,
            s.attachment?.instanceId ?? null,
            JSON.stringify(s),
            revision,
            s.createdAt,
            s.updatedAt ?? s.createdAt,
          ],
        );
      },
    );
  },
});

/**
 * compute_logs: one searchable table for what `GET /logs` serves. This projection writes the
 * platform's lines about a resource (launched, stopped, failed with a reason...), derived from the
 * events; the console collector (src/compute/application/log-collector.ts) writes the containers'
 * output into the same table with source 'console'. A rebuild only replaces the platform lines.
 */
export const LOGS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS compute_logs (
  id bigserial PRIMARY KEY,
  tenant_id uuid,
  resource_id uuid NOT NULL,
  resource_type text NOT NULL,
  level text NOT NULL,
  source text NOT NULL,
  message text NOT NULL,
  at timestamptz NOT NULL,
  dedupe_key text UNIQUE,
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', message)) STORED
)`;

export const computeLogsProjection = defineProjection({
  name: COMPUTE_LOGS_PROJECTION,
  version: 1,
  eventTypes: [...INSTANCE_EVENT_TYPES, ...IMAGE_EVENT_TYPES, ...VOLUME_EVENT_TYPES],
  async setup(m) {
    await m.query(LOGS_TABLE_SQL);
    await m.query(
      'CREATE INDEX IF NOT EXISTS compute_logs_resource ON compute_logs (resource_id, at DESC)',
    );
    await m.query(
      'CREATE INDEX IF NOT EXISTS compute_logs_tenant ON compute_logs (tenant_id, at DESC)',
    );
    await m.query(
      'CREATE INDEX IF NOT EXISTS compute_logs_search ON compute_logs USING gin (search)',
    );
  },
  async reset(m) {
    await m.query("DELETE FROM compute_logs WHERE source = 'platform'");
  },
  async apply(events, m) {
    const rows = events.map(platformLogLine).filter((r) => r !== null);
    if (rows.length === 0) return;
    await m.query(
      `INSERT INTO compute_logs (tenant_id, resource_id, resource_type, level, source, message, at, dedupe_key)
       SELECT t, r::uuid, rt, l, 'platform', msg, a, k
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
         AS x(t, r, rt, l, msg, a, k)
       ON CONFLICT (dedupe_key) DO NOTHING`,
      [
        rows.map((r) => r.tenantId),
        rows.map((r) => r.resourceId),
        rows.map((r) => r.resourceType),
        rows.map((r) => r.level),
        rows.map((r) => r.message),
        rows.map((r) => r.at),
        rows.map((r) => r.dedupeKey),
      ],
    );
  },
});

/**
 * compute_quota_reservations: one row per instance or volume holding quota in its tenant's ledger
 * (the platform's quota service, stream `quota-<tenantId>`), for the reconciler that releases
 * reservations whose instance was never recorded (a process that died between the reservation
 * and the launch). Ledgers written before quotas were a platform service hold the older
 * `InstanceCapacity*` and `VolumeCapacity*` events; both are read.
 */
export const quotaProjection = defineProjection({
  name: QUOTA_PROJECTION,
  version: 2,
  eventTypes: [
    'QuotaReserved',
    'QuotaReleased',
    'InstanceCapacityReserved',
    'InstanceCapacityResized',
    'InstanceCapacityReleased',
    'VolumeCapacityReserved',
    'VolumeCapacityReleased',
  ],
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS compute_quota_reservations (
      tenant_id uuid NOT NULL,
      resource_id uuid NOT NULL,
      kind text NOT NULL,
      vcpus integer NOT NULL,
      memory_mb integer NOT NULL,
      reserved_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, resource_id)
    )`);
  },
  async reset(m) {
    await m.query('TRUNCATE compute_quota_reservations');
  },
  async apply(events, m) {
    for (const e of events) {
      const held = heldByComputeResource(e.type, e.data);
      if (!held) continue;
      if (held.released) {
        await m.query(
          'DELETE FROM compute_quota_reservations WHERE tenant_id = $1 AND resource_id = $2',
          [held.tenantId, held.resourceId],
        );
        continue;
      }
      await m.query(
        `INSERT INTO compute_quota_reservations VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, resource_id)
         DO UPDATE SET vcpus = EXCLUDED.vcpus, memory_mb = EXCLUDED.memory_mb`,
        [held.tenantId, held.resourceId, held.kind, held.vcpus, held.memoryMb, held.at],
      );
    }
  },
});

interface ComputeHolding {
  tenantId: string;
  resourceId: string;
  kind: string;
  released: boolean;
  vcpus: number;
  memoryMb: number;
  at: string;
}

/** What a ledger event means for an instance's or a volume's row; null for other families. */
function heldByComputeResource(type: string, raw: unknown): ComputeHolding | null {
  const d = raw as {
    tenantId: string;
    holderId?: string;
    holderKind?: string;
    amounts?: Record<string, number>;
    instanceId?: string;
    volumeId?: string;
    vcpus?: number;
    memoryMb?: number;
    to?: { vcpus: number; memoryMb: number };
    at: string;
  };
  if (type === 'QuotaReserved' || type === 'QuotaReleased') {
    const kind = d.holderKind;
    if ((kind !== INSTANCE_HOLDER && kind !== VOLUME_HOLDER) || !d.holderId) return null;
    return {
      tenantId: d.tenantId,
      resourceId: d.holderId,
      kind,
      released: type === 'QuotaReleased',
      vcpus: d.amounts?.vcpus ?? 0,
      memoryMb: d.amounts?.memory_mb ?? 0,
      at: d.at,
    };
  }
  const resourceId = d.instanceId ?? d.volumeId;
  if (!resourceId) return null;
  return {
    tenantId: d.tenantId,
    resourceId,
    kind: d.volumeId ? VOLUME_HOLDER : INSTANCE_HOLDER,
    released: type.endsWith('Released'),
    vcpus: d.to?.vcpus ?? d.vcpus ?? 0,
    memoryMb: d.to?.memoryMb ?? d.memoryMb ?? 0,
    at: d.at,
  };
}

export const COMPUTE_PROJECTIONS = [
  instancesProjection,
  imagesProjection,
  volumesProjection,
  computeLogsProjection,
  quotaProjection,
] as const;
