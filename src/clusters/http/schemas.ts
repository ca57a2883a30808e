import { z } from 'zod';

import { timestamp, uuid } from '../../platform/http/api-schema';
import { SUPPORTED_VERSIONS } from '../domain';

const CLUSTER_ID = '3f2b9c1e-7a4d-4e2f-9b1a-6c5d4e3f2a1b';
const VPC_ID = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
const SUBNET_ID = '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';
const STATUSES = [
  'pending',
  'provisioning',
  'running',
  'failed',
  'scaling',
  'repairing',
  'upgrading',
  'upgrade_failed',
  'restoring',
  'deleting',
  'deleted',
] as const;
const NODE = z.object({
  name: z.string(),
  role: z.enum(['control-plane', 'worker']),
  version: z.string(),
});

export const ClusterSchema = z
  .object({
    id: uuid(),
    name: z.string(),
    vpc_id: uuid(),
    subnet_id: uuid().nullable().meta({
      description: "The subnet of the VPC its nodes' NICs are in (null: nodes have no NIC)",
    }),
    version: z.string().meta({ description: "The control plane's Kubernetes version" }),
    status: z.enum(STATUSES),
    workers: z.number().int(),
    ha: z.boolean(),
    control_plane_nodes: z.number().int(),
    endpoint: z.string().nullable().meta({ description: 'The API server, once running' }),
    nodes: z.array(NODE),
    failure_message: z.string().nullable(),
    upgrade_id: uuid().nullable().meta({ description: 'The running or last upgrade' }),
    last_upgrade_outcome: z.enum(['succeeded', 'cancelled', 'failed']).nullable(),
    restore: z
      .object({ id: uuid(), backup_id: uuid() })
      .nullable()
      .meta({ description: 'The etcd restore running now (status `restoring`)' }),
    last_restore: z
      .object({
        id: uuid(),
        backup_id: uuid(),
        error: z
          .string()
          .nullable()
          .meta({ description: 'null: restored; else why not (etcd kept its previous data)' }),
        finished_at: timestamp(),
      })
      .nullable(),
    arn: z.string(),
    created_at: timestamp(),
    updated_at: timestamp(),
  })
  .meta({
    id: 'Cluster',
    example: {
      id: CLUSTER_ID,
      name: 'my-cluster',
      vpc_id: VPC_ID,
      subnet_id: SUBNET_ID,
      version: 'v1.29.0',
      status: 'pending',
      workers: 3,
      ha: true,
      control_plane_nodes: 3,
      endpoint: null,
      nodes: [],
      failure_message: null,
      upgrade_id: null,
      last_upgrade_outcome: null,
      restore: null,
      last_restore: null,
      arn: `arn:nimbus:clusters:local:${VPC_ID}:cluster/${CLUSTER_ID}`,
      created_at: '2026-05-01T10:00:00.000Z',
      updated_at: '2026-05-01T10:00:00.000Z',
    },
  });

export const ClusterAcceptedSchema = z.object({ id: uuid(), status: z.string().optional() }).meta({
  id: 'ClusterAccepted',
  description: 'Recorded; the read model had not caught up yet: GET the Location header.',
  example: { id: CLUSTER_ID },
});

export const ClusterVersionsSchema = z
  .object({
    versions: z.array(z.string()),
    default: z.string(),
    upgrade_rule: z.string(),
  })
  .meta({
    id: 'ClusterVersions',
    example: {
      versions: [...SUPPORTED_VERSIONS],
      default: 'v1.30.6',
      upgrade_rule: 'one minor version at a time, never down',
    },
  });

export const KubeconfigSchema = z
  .object({ cluster_id: uuid(), kubeconfig: z.string().meta({ description: 'YAML' }) })
  .meta({
    id: 'Kubeconfig',
    description: 'The admin kubeconfig, read from the cluster (Nimbus does not keep it)',
    example: { cluster_id: CLUSTER_ID, kubeconfig: 'apiVersion: v1\nkind: Config\n...' },
  });

export const ClusterHealthSchema = z
  .object({
    cluster_id: uuid(),
    status: z.string(),
    api_server: z.object({
      reachable: z.boolean(),
      version: z.string().nullable(),
      error: z.string().nullable(),
    }),
    etcd: z
      .object({
        healthy: z.boolean(),
        version: z.string().nullable(),
        revision: z.number().int().nullable(),
        db_size_bytes: z.number().int().nullable(),
        data_dir: z.string().nullable().meta({ description: '`data-0`, or `restore-<id>`' }),
        error: z.string().nullable(),
      })
      .nullable()
      .meta({
        description:
          "The control plane's etcd (`etcdctl endpoint health` and `endpoint status`); null when this installation runs none",
      }),
    nodes_ready: z.number().int(),
    nodes_total: z.number().int(),
    nodes: z.array(
      z.object({
        name: z.string(),
        role: z.string(),
        ready: z.boolean(),
        schedulable: z.boolean(),
        kubelet_version: z.string().nullable(),
      }),
    ),
    healthy: z.boolean(),
  })
  .meta({
    id: 'ClusterHealth',
    example: {
      cluster_id: CLUSTER_ID,
      status: 'running',
      api_server: { reachable: true, version: 'v1.29.0', error: null },
      etcd: {
        healthy: true,
        version: '3.4.23',
        revision: 7,
        db_size_bytes: 20480,
        data_dir: 'data-0',
        error: null,
      },
      nodes_ready: 2,
      nodes_total: 2,
      nodes: [
        {
          name: 'control-plane-0',
          role: 'control-plane',
          ready: true,
          schedulable: true,
          kubelet_version: 'v1.29.0',
        },
        {
          name: 'worker-0',
          role: 'worker',
          ready: true,
          schedulable: true,
          kubelet_version: 'v1.29.0',
        },
      ],
      healthy: true,
    },
  });

export const ClusterUpgradeSchema = z
  .object({
    id: uuid(),
    cluster_id: uuid(),
    status: z.enum(['running', 'finished']),
    outcome: z.enum(['succeeded', 'cancelled', 'failed']).nullable(),
    from_version: z.string(),
    to_version: z.string(),
    max_unavailable: z.number().int(),
    max_failed_nodes: z.number().int(),
    drain_timeout_seconds: z.number().int(),
    health_timeout_seconds: z.number().int(),
    force: z.boolean(),
    cancel_requested: z.boolean(),
    control_plane: z.object({
      stage: z.enum(['pending', 'upgrading', 'upgraded', 'failed', 'rolled_back']),
      nodes: z.array(z.string()),
      error: z.string().nullable(),
    }),
    nodes: z.array(
      z.object({
        name: z.string(),
        stage: z.enum([
          'pending',
          'cordoning',
          'cordoned',
          'draining',
          'drained',
          'upgrading',
          'verifying',
          'healthy',
          'done',
          'failed',
          'skipped',
        ]),
        batch: z.number().int().nullable(),
        cordoned: z.boolean(),
        evicted_pods: z.number().int(),
        forced_drain: z.boolean(),
        kubelet_version: z.string().nullable(),
        failure_reason: z.enum(['drain_timeout', 'upgrade_error', 'health_gate']).nullable(),
        failure_message: z.string().nullable(),
      }),
    ),
    started_at: timestamp().nullable(),
    finished_at: timestamp().nullable(),
  })
  .meta({
    id: 'ClusterUpgrade',
    example: {
      id: '5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
      cluster_id: CLUSTER_ID,
      status: 'running',
      outcome: null,
      from_version: 'v1.29.0',
      to_version: 'v1.30.0',
      max_unavailable: 1,
      max_failed_nodes: 0,
      drain_timeout_seconds: 300,
      health_timeout_seconds: 600,
      force: false,
      cancel_requested: false,
      control_plane: { stage: 'upgraded', nodes: ['control-plane-0'], error: null },
      nodes: [
        {
          name: 'worker-0',
          stage: 'draining',
          batch: 1,
          cordoned: true,
          evicted_pods: 3,
          forced_drain: false,
          kubelet_version: null,
          failure_reason: null,
          failure_message: null,
        },
      ],
      started_at: '2026-05-01T10:00:00.000Z',
      finished_at: null,
    },
  });

const BACKUP_ID = '6d1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';

export const ClusterBackupSchema = z
  .object({
    id: uuid(),
    cluster_id: uuid(),
    status: z.enum(['creating', 'available', 'failed', 'deleting', 'deleted']),
    size_bytes: z.number().int().nullable().meta({ description: 'The snapshot file' }),
    sha256: z.string().nullable().meta({ description: 'Of the snapshot file' }),
    revision: z.number().int().nullable().meta({ description: "etcd's revision it is of" }),
    total_keys: z.number().int().nullable(),
    duration_ms: z.number().int().nullable().meta({ description: 'How long taking it took' }),
    failure_message: z.string().nullable(),
    created_at: timestamp(),
    completed_at: timestamp().nullable(),
  })
  .meta({
    id: 'ClusterBackup',
    description: "A snapshot of the cluster's etcd (`etcdctl snapshot save`)",
    example: {
      id: BACKUP_ID,
      cluster_id: CLUSTER_ID,
      status: 'available',
      size_bytes: 20512,
      sha256: 'c8b0e5faa216808c6e83798e73a8940ef1d77a7baea593f0a987720c995ae560',
      revision: 7,
      total_keys: 9,
      duration_ms: 180,
      failure_message: null,
      created_at: '2026-05-01T10:00:00.000Z',
      completed_at: '2026-05-01T10:00:01.000Z',
    },
  });
