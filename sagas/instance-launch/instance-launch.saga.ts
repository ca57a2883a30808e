import { AppError } from '../../src/common/errors/app-error';
import {
  dockerResourceLimits,
  instanceDecider,
  INSTANCE_HOLDER,
  instanceQuotaAmounts,
  volumeDecider,
  type InstanceCommand,
  type InstanceState,
  type LaunchStep,
} from '../../src/compute/domain';
import { DriverError, type ComputeDriver } from '../../src/drivers/docker/compute-driver';
import type { CommandExecutor } from '../../src/eventstore/command-executor';
import type { EventStore } from '../../src/eventstore/event-store';
import type { InstanceNetwork } from '../../src/network/ports/instance-network';
import type { QuotaReservations } from '../../src/platform/quotas/quota.service';
import {
  defineSaga,
  onStreamOf,
  isPermanentByDefault,
  PermanentSagaError,
  sagaStreamId,
  type SagaDefinition,
  sagaCommandContext,
} from '../runtime/definition';
import { INSTANCE_CATEGORY } from '../../src/compute/domain/instance';

export const INSTANCE_LAUNCH_SAGA = 'instance_launch';

export interface InstanceLaunchInput {
  instanceId: string;
  tenantId: string;
}

/** What the saga's steps need from the application; the compute module provides them (`provideSaga`). */
export interface InstanceLaunchPorts {
  executor: CommandExecutor;
  store: EventStore;
  driver: ComputeDriver;
  /** The platform's quota service (reserve is a no-op after the launch handler's reservation). */
  quotas: QuotaReservations;
  /** The instance's NIC (the networking context's port). */
  network: InstanceNetwork;
  /** CPUs of the Docker host (large types are clamped to it). */
  hostCpus: number;
  /** Extra container labels (tests label what they create). */
  containerLabels?: Record<string, string>;
}

interface Results extends Record<string, unknown> {
  begin: null;
  check_quota: { vcpus: number; memoryMb: number };
  attach_volumes: { volumeIds: string[] };
  create_container: { containerId: string };
  attach_network: { subnetId: string; privateIp: string } | null;
  start_container: null;
}

async function loadInstance(p: InstanceLaunchPorts, instanceId: string): Promise<InstanceState> {
  const { state, exists } = await p.executor.load(instanceDecider, instanceId);
  if (!exists) throw new PermanentSagaError(`instance ${instanceId} does not exist`);
  return state;
}

async function record(
  p: InstanceLaunchPorts,
  input: InstanceLaunchInput,
  name: string,
  correlationId: string,
  command: InstanceCommand,
): Promise<void> {
  await p.executor.execute(
    instanceDecider,
    input.instanceId,
    command,
    sagaCommandContext(INSTANCE_LAUNCH_SAGA, input.instanceId, name, {
      tenantId: input.tenantId,
      correlationId,
    }),
    10,
  );
}

const LAUNCH_STEPS: ReadonlySet<string> = new Set<LaunchStep>([
  'check_quota',
  'attach_volumes',
  'create_container',
  'attach_network',
  'start_container',
]);

/** The failed step and its error, from the saga's own stream. */
async function failureOf(
  store: EventStore,
  instanceId: string,
): Promise<{ step: LaunchStep; reason: string }> {
  const events = await store.readStream(sagaStreamId(INSTANCE_LAUNCH_SAGA, instanceId));
  let step: string | null = null;
  let reason = 'the launch failed';
  for (const e of events) {
    if (e.type === 'SagaStepFailed') {
      const d = e.data as { step: string; error: string };
      step = d.step;
      reason = d.error;
    }
    if (e.type === 'SagaCompensationStarted') {
      const d = e.data as { failedStep: string | null };
      if (d.failedStep) step = d.failedStep;
    }
  }
  return {
    step: (step !== null && LAUNCH_STEPS.has(step) ? step : 'start_container') as LaunchStep,
    reason: reason.slice(0, 1000),
  };
}

function ignoreSettled(error: unknown): void {
  // The instance moved on (terminated during the launch, or already recorded): nothing to record.
  if (error instanceof AppError && (error.code === 'invalid_state' || error.code === 'not_found')) {
    return;
  }
  throw error;
}

/**
 * Launch of one instance (`saga_instance_launch-<instanceId>`), started by the launch handler
 * after it appended InstanceLaunchRequested. Steps, each idempotent:
 *
 *   begin            nothing; its compensation (the last to run) records the launch failure
 *   check_quota      reserve the instance's capacity (a no-op after the handler's reservation)
 *   attach_volumes   attach the requested volumes to the instance
 *   create_container create-if-absent `nimbus-<id>` with the type's limits  -> STARTING
 *   attach_network   the NIC: an address of the subnet, its logical port (port security) in the
 *                    VPC's default group, realized; recorded with the private IP
 *   start_container  start it, plug the NIC's veth into its namespace    -> RUNNING
 *
 * A failure compensates in reverse: NIC detached (veth, port, memberships, address), container
 * removed, volumes detached, quota released, and the instance recorded ERROR with the failed step
 * and its reason.
 */
export function instanceLaunchSaga(p: InstanceLaunchPorts): SagaDefinition<InstanceLaunchInput> {
  return defineSaga<InstanceLaunchInput, Results>({
    name: INSTANCE_LAUNCH_SAGA,
    startedBy: {
      InstanceLaunchRequested: onStreamOf(INSTANCE_CATEGORY, (instanceId, tenantId) => ({
        sagaId: instanceId,
        input: { instanceId, tenantId },
      })),
    },
    retry: { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 2000 },
    compensationRetry: { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 5000 },
    stepTimeoutMs: 60_000,
    isPermanent: (error) =>
      isPermanentByDefault(error) ||
      (error instanceof DriverError && (error.kind === 'not_found' || error.kind === 'conflict')),
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          const { step, reason } = await failureOf(p.store, input.instanceId);
          await record(p, input, 'launch_failed', correlationId, {
            type: 'RecordLaunchFailed',
            step,
            reason,
            now: new Date(),
          }).catch(ignoreSettled);
        },
      },
      {
        name: 'check_quota',
        async execute({ input, correlationId }) {
          const state = await loadInstance(p, input.instanceId);
          const type = state.instanceType;
          if (!type) throw new PermanentSagaError('instance has no type');
          await p.quotas.reserve(
            input.tenantId,
            { id: input.instanceId, kind: INSTANCE_HOLDER },
            instanceQuotaAmounts(type),
            sagaCommandContext(INSTANCE_LAUNCH_SAGA, input.instanceId, 'reserve_quota', {
              tenantId: input.tenantId,
              correlationId,
            }),
          );
          return { vcpus: type.vcpus, memoryMb: type.memoryMb };
        },
        async compensate({ input, correlationId }) {
          await p.quotas.release(
            input.tenantId,
            input.instanceId,
            sagaCommandContext(INSTANCE_LAUNCH_SAGA, input.instanceId, 'release_quota', {
              tenantId: input.tenantId,
              correlationId,
            }),
          );
        },
      },
      {
        name: 'attach_volumes',
        async execute({ input, correlationId }) {
          const state = await loadInstance(p, input.instanceId);
          for (const mount of state.volumes) {
            await p.executor.execute(
              volumeDecider,
              mount.volumeId,
              {
                type: 'AttachVolume',
                instanceId: input.instanceId,
                mountPath: mount.mountPath,
                now: new Date(),
              },
              sagaCommandContext(
                INSTANCE_LAUNCH_SAGA,
                input.instanceId,
                `attach_volume/${mount.volumeId}`,
                { tenantId: input.tenantId, correlationId },
              ),
            );
          }
          return { volumeIds: state.volumes.map((v) => v.volumeId) };
        },
        async compensate({ input, correlationId, result }) {
          for (const volumeId of (result as Results['attach_volumes'] | null)?.volumeIds ?? []) {
            await p.executor
              .execute(
                volumeDecider,
                volumeId,
                { type: 'DetachVolume', instanceId: input.instanceId, now: new Date() },
                sagaCommandContext(
                  INSTANCE_LAUNCH_SAGA,
                  input.instanceId,
                  `detach_volume/${volumeId}`,
                  { tenantId: input.tenantId, correlationId },
                ),
              )
              .catch(ignoreSettled);
          }
        },
      },
      {
        name: 'create_container',
        async execute({ input, correlationId }) {
          const state = await loadInstance(p, input.instanceId);
          if (!state.image || !state.instanceType)
            throw new PermanentSagaError('instance is incomplete');
          const limits = dockerResourceLimits(state.instanceType, { hostCpus: p.hostCpus });
          const { containerId } = await p.driver.createContainer({
            instanceId: input.instanceId,
            tenantId: input.tenantId,
            image: state.image.dockerImageId,
            limits: {
              NanoCpus: limits.NanoCpus,
              Memory: limits.Memory,
              MemorySwap: limits.MemorySwap,
            },
            volumes: state.volumes.map((v) => ({ volumeId: v.volumeId, mountPath: v.mountPath })),
            userData: state.userData,
            labels: p.containerLabels,
          });
          await record(p, input, 'container_created', correlationId, {
            type: 'RecordContainerCreated',
            containerId,
            now: new Date(),
          });
          return { containerId };
        },
        async compensate({ input }) {
          await p.driver.remove(input.instanceId);
        },
      },
      {
        name: 'attach_network',
        async execute({ input, correlationId }) {
          const state = await loadInstance(p, input.instanceId);
          // Launches recorded before placement existed carry no subnet: they get no NIC.
          if (state.subnetId === null) {
            await record(p, input, 'network_attached', correlationId, {
              type: 'RecordNetworkAttached',
              vpcId: state.vpcId,
              subnetId: null,
              privateIp: null,
              now: new Date(),
            });
            return null;
          }
          const nicContext = (name: string) =>
            sagaCommandContext(INSTANCE_LAUNCH_SAGA, input.instanceId, name, {
              tenantId: input.tenantId,
              correlationId,
            });
          const request = {
            instanceId: input.instanceId,
            tenantId: input.tenantId,
            subnetId: state.subnetId,
          };
          // A failed step is not compensated by the runtime: a half-made NIC (an address
          // without its port) is undone here, and a retry makes it again.
          const nic = await p.network
            .attach(request, nicContext('attach_nic'))
            .catch(async (error: unknown) => {
              await p.network
                .detach(input.instanceId, input.tenantId, nicContext('detach_nic'))
                .catch(() => undefined);
              throw error;
            });
          await record(p, input, 'network_attached', correlationId, {
            type: 'RecordNetworkAttached',
            vpcId: nic.vpcId,
            subnetId: nic.subnetId,
            privateIp: nic.privateIp,
            now: new Date(),
          });
          return { subnetId: nic.subnetId, privateIp: nic.privateIp };
        },
        async compensate({ input, correlationId }) {
          await p.network.detach(
            input.instanceId,
            input.tenantId,
            sagaCommandContext(INSTANCE_LAUNCH_SAGA, input.instanceId, 'detach_nic', {
              tenantId: input.tenantId,
              correlationId,
            }),
          );
        },
      },
      {
        name: 'start_container',
        async execute({ input, correlationId }) {
          await p.driver.start(input.instanceId);
          const state = await loadInstance(p, input.instanceId);
          if (state.subnetId !== null) {
            // The namespace exists once the container runs; without a process (a simulated
            // engine) the NIC stays a logical port only.
            const pid = (await p.driver.inspect(input.instanceId))?.pid;
            if (pid !== undefined) {
              await p.network.plug(input.instanceId, { kind: 'pid', pid });
            }
          }
          await record(p, input, 'started', correlationId, {
            type: 'RecordInstanceStarted',
            now: new Date(),
          });
          return null;
        },
      },
    ],
  });
}
