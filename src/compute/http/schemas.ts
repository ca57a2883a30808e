import { z } from 'zod';
import { timestamp, uuid } from '../../platform/http/api-schema';
import { IMAGE_STATUSES, INSTANCE_STATUSES, USER_ACTIONS, VOLUME_STATUSES } from '../domain';

/** Response schemas of the compute routes (the OpenAPI components and the handlers' types). */

const EXAMPLE_INSTANCE_ID = '3f1d7c2e-5a4b-4e8f-9c1d-2b7a6e5f4d3c';
const EXAMPLE_IMAGE_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

export const InstanceTypeSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    vcpus: z.number().int(),
    memory_mb: z.number().int(),
    disk_gb: z.number().int(),
    network_mbps: z.number().int(),
    price_per_hour: z.number().meta({ description: 'USD per hour, for display' }),
    price_per_hour_micro_usd: z.number().int(),
    currency: z.literal('USD'),
    category: z.enum(['general-purpose', 'balanced', 'performance']),
  })
  .meta({
    id: 'InstanceType',
    example: {
      id: 'basic-2',
      name: 'Basic 2',
      vcpus: 2,
      memory_mb: 2048,
      disk_gb: 40,
      network_mbps: 1000,
      price_per_hour: 0.04,
      price_per_hour_micro_usd: 40000,
      currency: 'USD',
      category: 'general-purpose',
    },
  });

export const InstanceSchema = z
  .object({
    id: uuid(),
    name: z.string(),
    status: z.enum(INSTANCE_STATUSES),
    image: z.string().nullable(),
    image_id: uuid().nullable(),
    instance_type: z.string().nullable(),
    vcpus: z.number().int().nullable(),
    memory_mb: z.number().int().nullable(),
    price_per_hour: z.number().nullable(),
    vpc_id: uuid().nullable(),
    subnet_id: uuid().nullable(),
    private_ip: z.string().nullable(),
    ports: z.string().meta({ description: 'host:container pairs, comma-separated' }),
    volumes: z.array(z.object({ volume_id: uuid(), mount_path: z.string() })),
    tags: z.record(z.string(), z.string()),
    container_id: z.string().nullable(),
    error_reason: z.string().nullable().meta({ description: 'Why the instance is in ERROR' }),
    exit_code: z.number().int().nullable(),
    allowed_actions: z.array(z.enum(USER_ACTIONS)),
    managed_by: z
      .object({
        kind: z.literal('cluster'),
        id: uuid(),
        role: z
          .string()
          .meta({ description: "What the machine is to its owner (the node's name)" }),
      })
      .nullable()
      .meta({
        description:
          "The resource that runs this machine (a Kubernetes cluster's node): only it changes the instance, so stop, start, reboot, pause, resize, volume changes and terminate answer 409 (rename and tags are allowed), and its usage is billed as the cluster's node-hours. Null for the tenant's own instances.",
      }),
    created_at: timestamp().nullable(),
    updated_at: timestamp().nullable(),
  })
  .meta({
    id: 'Instance',
    example: {
      id: EXAMPLE_INSTANCE_ID,
      name: 'web-01',
      status: 'RUNNING',
      image: 'busybox',
      image_id: EXAMPLE_IMAGE_ID,
      instance_type: 'basic-2',
      vcpus: 2,
      memory_mb: 2048,
      price_per_hour: 0.04,
      vpc_id: null,
      subnet_id: null,
      private_ip: null,
      ports: '8080:80',
      volumes: [],
      tags: { env: 'prod' },
      container_id: 'b1946ac92492',
      error_reason: null,
      exit_code: null,
      allowed_actions: ['stop', 'reboot', 'pause', 'resize', 'update', 'terminate'],
      managed_by: null,
      created_at: '2026-01-31T12:00:00.000Z',
      updated_at: '2026-01-31T12:00:04.000Z',
    },
  });

/** What a launch answers: the instance, or its id while the read model catches up. */
export const LaunchedInstanceSchema = z
  .union([InstanceSchema, z.object({ id: uuid(), status: z.literal('PENDING') })])
  .meta({ id: 'LaunchedInstance' });

/** A change of an instance: the instance, or `{ id }` while the read model catches up. */
export const ChangedInstanceSchema = z
  .union([InstanceSchema, z.object({ id: uuid() })])
  .meta({ id: 'ChangedInstance' });

export const InstanceActionSchema = z
  .object({
    message: z.string(),
    instance: InstanceSchema.nullable().meta({
      description: 'null when answered 202 (GET the Location)',
    }),
  })
  .meta({ id: 'InstanceActionResult' });

export const InstanceConsoleSchema = z
  .object({ console_url: z.string().meta({ description: 'ws:// URL, valid for 60 s' }) })
  .meta({ id: 'InstanceConsole' });

export const InstanceMetricsSchema = z
  .object({
    instance_id: uuid(),
    status: z.enum(INSTANCE_STATUSES),
    cpu_percent: z.number(),
    memory_bytes: z.number(),
    memory_limit_bytes: z.number(),
    memory_percent: z.number(),
    timestamp: timestamp(),
  })
  .meta({ id: 'InstanceMetrics' });

export const ImageSchema = z
  .object({
    id: uuid(),
    name: z.string(),
    description: z.string().nullable(),
    os: z.string().nullable(),
    version: z.string().nullable(),
    format: z.literal('rootfs'),
    size_gb: z.number().nullable(),
    size_bytes: z.number().int().nullable(),
    is_public: z.boolean(),
    system: z.boolean(),
    status: z.enum(IMAGE_STATUSES),
    error_reason: z.string().nullable(),
    created_at: timestamp().nullable(),
    updated_at: timestamp().nullable(),
  })
  .meta({
    id: 'Image',
    example: {
      id: EXAMPLE_IMAGE_ID,
      name: 'busybox',
      description: 'BusyBox root filesystem',
      os: 'linux',
      version: '1.36',
      format: 'rootfs',
      size_gb: 0.002,
      size_bytes: 2170880,
      is_public: true,
      system: true,
      status: 'ACTIVE',
      error_reason: null,
      created_at: '2026-01-31T12:00:00.000Z',
      updated_at: '2026-01-31T12:00:00.000Z',
    },
  });

export const ImageOrAcceptedSchema = z
  .union([ImageSchema, z.object({ id: uuid(), status: z.literal('PENDING') })])
  .meta({ id: 'ImageOrAccepted' });

export const VolumeSchema = z
  .object({
    id: uuid(),
    name: z.string(),
    size_gb: z.number().int(),
    status: z.enum(VOLUME_STATUSES),
    instance_id: uuid().nullable(),
    mount_path: z.string().nullable(),
    created_at: timestamp().nullable(),
    updated_at: timestamp().nullable(),
  })
  .meta({
    id: 'Volume',
    example: {
      id: '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a',
      name: 'data',
      size_gb: 10,
      status: 'IN_USE',
      instance_id: EXAMPLE_INSTANCE_ID,
      mount_path: '/data',
      created_at: '2026-01-31T12:00:00.000Z',
      updated_at: '2026-01-31T12:00:05.000Z',
    },
  });

export const VolumeOrAcceptedSchema = z
  .union([VolumeSchema, z.object({ id: uuid(), status: z.literal('PENDING') })])
  .meta({ id: 'VolumeOrAccepted' });

export const LogEntrySchema = z
  .object({
    id: z.string(),
    resource_id: uuid(),
    resource_type: z.string(),
    level: z.string(),
    source: z.string(),
    message: z.string(),
    timestamp: timestamp(),
  })
  .meta({ id: 'LogEntry' });
