import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/common/errors/app-error';
import {
  DEFAULT_QUOTA_LIMITS,
  instanceDecider,
  resolveInstanceType,
  volumeDecider,
  type QuotaLimits,
} from '../../src/compute/domain';
import type { ComputeDriver, ContainerSpec } from '../../src/drivers/docker/compute-driver';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import type { CommandContext } from '../../src/kernel/command-context';
import { quotaLedgerDecider } from '../../src/platform/quotas/quota-ledger';
import { InMemoryEventStore } from '../../test/support/in-memory-event-store';
import { FakeInstanceNetwork } from '../../test/support/instance-network';
import { computeQuotaService } from '../../test/support/quotas';
import type { RuntimeStep, StepContext } from '../runtime/definition';
import { INSTANCE_LAUNCH_SAGA, instanceLaunchSaga } from './instance-launch.saga';

const TENANT = '7d1f4a3e-0000-4000-8000-000000000001';
const INSTANCE = '7d1f4a3e-0000-4000-8000-000000000002';
const VOLUME = '7d1f4a3e-0000-4000-8000-000000000003';
const VPC = '7d1f4a3e-0000-4000-8000-000000000004';
const SUBNET = '7d1f4a3e-0000-4000-8000-000000000005';
const NOW = new Date('2026-03-01T00:00:00Z');

const userCtx = (commandId: string): CommandContext => ({
  commandId,
  tenantId: TENANT,
  actor: { type: 'user', id: 'u-1' },
  requestId: null,
  sourceIp: null,
  correlationId: 'corr-1',
  causationId: null,
  now: NOW,
});

/** A fake engine: records the calls the steps make, fails the ones it is told to. */
class FakeDriver {
  readonly calls: string[] = [];
  readonly created: ContainerSpec[] = [];
  failCreate: Error | null = null;

  createContainer(spec: ContainerSpec): Promise<{ containerId: string; created: boolean }> {
    this.calls.push(`create ${spec.instanceId}`);
    if (this.failCreate) return Promise.reject(this.failCreate);
    this.created.push(spec);
    return Promise.resolve({ containerId: `c-${spec.instanceId}`, created: true });
  }

  start(instanceId: string): Promise<void> {
    this.calls.push(`start ${instanceId}`);
    return Promise.resolve();
  }

  remove(instanceId: string): Promise<void> {
    this.calls.push(`remove ${instanceId}`);
    return Promise.resolve();
  }

  inspect(instanceId: string): Promise<{ pid: number } | null> {
    return Promise.resolve(this.calls.includes(`start ${instanceId}`) ? { pid: 4242 } : null);
  }
}

/** Given: a tenant's instance recorded as requested (with one volume), the saga built with fake ports. */
async function given(options: { limits?: QuotaLimits; volume?: boolean; placed?: boolean } = {}) {
  const store = new InMemoryEventStore();
  const executor = new CommandExecutor(store);
  const driver = new FakeDriver();
  const network = new FakeInstanceNetwork({ vpcId: VPC, subnetId: SUBNET });
  const volumes = options.volume
    ? [{ volumeId: VOLUME, mountPath: '/data' }]
    : ([] as Array<{ volumeId: string; mountPath: string }>);
  if (options.volume) {
    await executor.execute(
      volumeDecider,
      VOLUME,
      { type: 'CreateVolume', volumeId: VOLUME, tenantId: TENANT, name: 'v', sizeGb: 1, now: NOW },
      userCtx('create-volume'),
    );
  }
  await executor.execute(
    instanceDecider,
    INSTANCE,
    {
      type: 'LaunchInstance',
      instanceId: INSTANCE,
      tenantId: TENANT,
      name: 'web-1',
      image: { id: 'img-1', name: 'busybox', dockerImageId: 'sha256:abc' },
      instanceType: resolveInstanceType('basic-1'),
      vpcId: options.placed ? VPC : null,
      subnetId: options.placed ? SUBNET : null,
      ports: [],
      volumes,
      userData: null,
      now: NOW,
    },
    userCtx('launch'),
  );
  const saga = instanceLaunchSaga({
    executor,
    store,
    driver: driver as unknown as ComputeDriver,
    quotas: computeQuotaService(executor, options.limits),
    network,
    hostCpus: 4,
    containerLabels: { 'nimbus.test': 'unit' },
  });
  const step = (name: string): RuntimeStep => {
    const found = saga.steps.find((s) => s.name === name);
    if (!found) throw new Error(`no step ${name}`);
    return found;
  };
  const context = (): StepContext<unknown, Record<string, unknown>> => ({
    sagaName: INSTANCE_LAUNCH_SAGA,
    sagaId: INSTANCE,
    input: { instanceId: INSTANCE, tenantId: TENANT },
    results: {},
    attempt: 1,
    signal: new AbortController().signal,
    tenantId: TENANT,
    correlationId: 'corr-1',
    inputs: [],
  });
  const instance = async () => (await executor.load(instanceDecider, INSTANCE)).state;
  return { store, executor, driver, network, step, context, instance };
}

describe('instance launch saga steps (fake ports, no I/O)', () => {
  it("check_quota: given a requested instance, when it runs, then the capacity is reserved in the tenant's quota ledger", async () => {
    const g = await given();
    const result = await g.step('check_quota').execute(g.context());
    expect(result).toEqual({ vcpus: 1, memoryMb: 512 });
    expect(g.store.types(`${quotaLedgerDecider.category}-${TENANT}`)).toEqual(['QuotaReserved']);
    // Idempotent: the runtime may run a step again after a crash.
    await g.step('check_quota').execute(g.context());
    expect(g.store.types(`${quotaLedgerDecider.category}-${TENANT}`)).toHaveLength(1);
  });

  it('check_quota: given a quota of no instances, when it runs, then it is rejected (quota_exceeded)', async () => {
    const g = await given({ limits: { ...DEFAULT_QUOTA_LIMITS, instances: 0 } });
    const run = g.step('check_quota').execute(g.context());
    await expect(run).rejects.toBeInstanceOf(AppError);
    await expect(run).rejects.toMatchObject({ code: 'quota_exceeded' });
  });

  it('attach_volumes: given a requested volume, when it runs, then the volume is attached to the instance; compensation detaches it', async () => {
    const g = await given({ volume: true });
    const result = await g.step('attach_volumes').execute(g.context());
    expect(result).toEqual({ volumeIds: [VOLUME] });
    expect((await g.executor.load(volumeDecider, VOLUME)).state.attachment).toMatchObject({
      instanceId: INSTANCE,
    });
    await g.step('attach_volumes').compensate?.({ ...g.context(), result });
    expect((await g.executor.load(volumeDecider, VOLUME)).state.attachment).toBeNull();
  });

  it('create_container: when it runs, then the engine gets the type limits, mounts and labels, and the instance records its container', async () => {
    const g = await given();
    expect(await g.step('create_container').execute(g.context())).toEqual({
      containerId: `c-${INSTANCE}`,
    });
    expect(g.driver.created[0]).toMatchObject({
      instanceId: INSTANCE,
      tenantId: TENANT,
      image: 'sha256:abc',
      volumes: [],
      labels: { 'nimbus.test': 'unit' },
    });
    expect((await g.instance()).containerId).toBe(`c-${INSTANCE}`);
  });

  it('start_container: when it runs after the container exists, then the instance is RUNNING', async () => {
    const g = await given();
    await g.step('create_container').execute(g.context());
    await g.step('attach_network').execute(g.context());
    await g.step('start_container').execute(g.context());
    expect(g.driver.calls).toEqual([`create ${INSTANCE}`, `start ${INSTANCE}`]);
    expect((await g.instance()).status).toBe('RUNNING');
  });

  it('attach_network: given a launch placed in a subnet, when it runs, then the NIC is attached and the instance records its private IP', async () => {
    const g = await given({ placed: true });
    await g.step('create_container').execute(g.context());
    expect(await g.step('attach_network').execute(g.context())).toEqual({
      subnetId: SUBNET,
      privateIp: '10.0.0.4',
    });
    expect(await g.instance()).toMatchObject({
      vpcId: VPC,
      subnetId: SUBNET,
      privateIp: '10.0.0.4',
    });
    // Idempotent: run again after a crash, the same NIC and nothing more recorded.
    await g.step('attach_network').execute(g.context());
    expect(
      g.store
        .types(`${instanceDecider.category}-${INSTANCE}`)
        .filter((t) => t === 'InstanceNetworkAttached'),
    ).toHaveLength(1);
  });

  it('attach_network: given the fabric fails, when it runs, then the half-made NIC is detached and the step fails', async () => {
    const g = await given({ placed: true });
    await g.step('create_container').execute(g.context());
    g.network.failAttach = new Error('ovn-nbctl timed out');
    await expect(g.step('attach_network').execute(g.context())).rejects.toThrow(/timed out/);
    expect(g.network.calls).toEqual([`attach ${INSTANCE}`, `detach ${INSTANCE}`]);
    expect((await g.instance()).privateIp).toBeNull();
  });

  it('attach_network compensation: given an attached NIC, when the launch is undone, then the NIC is detached', async () => {
    const g = await given({ placed: true });
    await g.step('create_container').execute(g.context());
    const result = await g.step('attach_network').execute(g.context());
    await g.step('attach_network').compensate?.({ ...g.context(), result });
    expect(g.network.calls.at(-1)).toBe(`detach ${INSTANCE}`);
    expect(g.network.nics.size).toBe(0);
  });

  it('start_container: given a NIC, when the container starts, then the NIC is plugged into its process namespace', async () => {
    const g = await given({ placed: true });
    await g.step('create_container').execute(g.context());
    await g.step('attach_network').execute(g.context());
    await g.step('start_container').execute(g.context());
    expect(g.network.calls.at(-1)).toBe(`plug ${INSTANCE} 4242`);
    expect((await g.instance()).status).toBe('RUNNING');
  });

  it('attach_network: given a launch recorded without a subnet, when it runs, then no NIC is made', async () => {
    const g = await given();
    await g.step('create_container').execute(g.context());
    expect(await g.step('attach_network').execute(g.context())).toBeNull();
    expect(g.network.calls).toEqual([]);
  });

  it('compensation: create_container removes the container; begin records the launch failure with the failed step', async () => {
    const g = await given();
    g.driver.failCreate = new Error('no such image');
    await expect(g.step('create_container').execute(g.context())).rejects.toThrow(/no such image/);
    await g.step('create_container').compensate?.({ ...g.context(), result: null });
    await g.step('begin').compensate?.({ ...g.context(), result: null });
    expect(g.driver.calls).toEqual([`create ${INSTANCE}`, `remove ${INSTANCE}`]);
    const state = await g.instance();
    expect(state.status).toBe('ERROR');
    // Nothing in the saga's own stream names a failed step here: the launch says the last one.
    expect(g.store.types(`${instanceDecider.category}-${INSTANCE}`).at(-1)).toBe(
      'InstanceLaunchFailed',
    );
  });
});
