import { describe, expect, it } from 'vitest';

import { SimulatedNetworkFabric } from '../../src/drivers/ovn/simulated-network-fabric';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import type { CommandContext } from '../../src/kernel/command-context';
import {
  elasticIpDecider,
  natGatewayDecider,
  subnetDecider,
  vpcDecider,
} from '../../src/network/domain';
import { InMemoryEventStore } from '../../test/support/in-memory-event-store';
import { sagaStreamId, type RuntimeStep, type StepContext } from '../runtime/definition';
import {
  NAT_GATEWAY_DELETE_SAGA,
  NAT_GATEWAY_SAGA,
  natFailureOf,
  natGatewayDeleteSaga,
  natGatewaySaga,
} from './nat-gateway.saga';

const TENANT = '5e1f4a3e-0000-4000-8000-000000000001';
const VPC = '5e1f4a3e-0000-4000-8000-000000000002';
const SUBNET = '5e1f4a3e-0000-4000-8000-000000000003';
const EIP = '5e1f4a3e-0000-4000-8000-000000000004';
const NAT = '5e1f4a3e-0000-4000-8000-000000000005';
const IGW = '5e1f4a3e-0000-4000-8000-000000000006';
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

/**
 * Given: a VPC with a subnet, an allocated elastic IP and a NAT gateway recorded `pending` (its
 * address taken from the subnet), the router on a simulated fabric, and the sagas built with
 * these fake ports.
 */
async function given(options: { gateway?: boolean } = {}) {
  const store = new InMemoryEventStore();
  const executor = new CommandExecutor(store);
  const fabric = new SimulatedNetworkFabric();
  const quotaReleased: string[] = [];
  await executor.execute(
    vpcDecider,
    VPC,
    {
      type: 'CreateVpc',
      vpcId: VPC,
      tenantId: TENANT,
      name: 'v',
      cidrBlock: '10.9.0.0/16',
      mainRouteTableId: 'rt-main',
      defaultSecurityGroupId: 'sg-default',
      now: NOW,
    },
    userCtx('vpc'),
  );
  await executor.execute(
    subnetDecider,
    SUBNET,
    {
      type: 'CreateSubnet',
      subnetId: SUBNET,
      tenantId: TENANT,
      vpc: { vpcId: VPC, cidrBlock: '10.9.0.0/16' },
      siblings: [],
      name: 's',
      cidrBlock: '10.9.1.0/24',
      availabilityZone: 'local-1a',
      now: NOW,
    },
    userCtx('subnet'),
  );
  const allocated = await executor.execute(
    subnetDecider,
    SUBNET,
    { type: 'AllocateAddress', holderId: NAT, requestedIp: null, now: NOW },
    userCtx('address'),
  );
  await executor.execute(
    elasticIpDecider,
    EIP,
    { type: 'AllocateElasticIp', eipId: EIP, tenantId: TENANT, publicIp: '100.64.0.9', now: NOW },
    userCtx('eip'),
  );
  await executor.execute(
    natGatewayDecider,
    NAT,
    {
      type: 'CreateNatGateway',
      natGatewayId: NAT,
      tenantId: TENANT,
      vpcId: VPC,
      subnetId: SUBNET,
      eipId: EIP,
      privateIp: allocated.state.allocations[NAT],
      now: NOW,
    },
    userCtx('nat'),
  );
  await fabric.ensureRouter({ vpcId: VPC, tenantId: TENANT, cidr: '10.9.0.0/16' });
  const ports = {
    executor,
    store,
    fabric,
    attachedGatewayOf: () => Promise.resolve(options.gateway === false ? null : IGW),
    releaseQuota: (_tenantId: string, natGatewayId: string) => {
      quotaReleased.push(natGatewayId);
      return Promise.resolve();
    },
  };
  const provision = natGatewaySaga(ports);
  const teardown = natGatewayDeleteSaga(ports);
  const stepOf = (steps: readonly RuntimeStep[], name: string): RuntimeStep => {
    const found = steps.find((s) => s.name === name);
    if (!found) throw new Error(`no step ${name}`);
    return found;
  };
  const results: Record<string, unknown> = {};
  const context = (sagaName: string): StepContext<unknown, Record<string, unknown>> => ({
    sagaName,
    sagaId: NAT,
    input: { natGatewayId: NAT, tenantId: TENANT },
    results,
    attempt: 1,
    signal: new AbortController().signal,
    tenantId: TENANT,
    correlationId: 'corr-1',
    inputs: [],
  });
  /** Runs a provisioning step as the runtime does: its result is kept for the next steps. */
  const run = async (name: string) => {
    results[name] = await stepOf(provision.steps, name).execute(context(NAT_GATEWAY_SAGA));
    return results[name];
  };
  const undo = (name: string) =>
    stepOf(provision.steps, name).compensate?.({
      ...context(NAT_GATEWAY_SAGA),
      result: results[name] ?? null,
    });
  const tearDown = async () => {
    for (const step of teardown.steps) await step.execute(context(NAT_GATEWAY_DELETE_SAGA));
  };
  /** What the runtime records in the saga's stream when a step fails. */
  const failedStep = (step: string, error: string) =>
    store.append(
      sagaStreamId(NAT_GATEWAY_SAGA, NAT),
      [
        {
          id: `f-${step}`,
          type: 'SagaStepFailed',
          data: { step, attempt: 1, error, reason: 'error', permanent: true, willRetry: false },
          metadata: {
            tenantId: TENANT,
            correlationId: 'corr-1',
            causationId: null,
            requestId: null,
            actor: { type: 'system', id: 'saga:nat_gateway' },
            sourceIp: null,
            occurredAt: NOW.toISOString(),
            schemaVersion: 1,
          },
        },
      ],
      'any',
    );
  const nat = async () => (await executor.load(natGatewayDecider, NAT)).state;
  const eip = async () => (await executor.load(elasticIpDecider, EIP)).state;
  return { executor, fabric, run, undo, tearDown, failedStep, nat, eip, provision, quotaReleased };
}

describe('NAT gateway saga steps (fake ports, no I/O)', () => {
  it('given a VPC with an internet gateway, when every step runs, then the NAT gateway is active with its snat realized', async () => {
    const g = await given();
    expect(await g.run('check_gateway')).toEqual({ gatewayId: IGW });
    expect(await g.run('take_elastic_ip')).toEqual({ publicIp: '100.64.0.9' });
    expect(await g.run('program_snat')).toEqual({ sourceCidrs: ['10.9.0.0/16'] });
    await g.run('record_active');
    expect(await g.nat()).toMatchObject({ status: 'active', publicIp: '100.64.0.9' });
    expect((await g.eip()).association?.target).toEqual({ kind: 'nat_gateway', id: NAT });
    expect((await g.fabric.inventory()).natGateways).toEqual([{ natGatewayId: NAT, vpcId: VPC }]);
    // Idempotent: a step run again after a crash changes nothing.
    await g.run('take_elastic_ip');
    await g.run('program_snat');
    await g.run('record_active');
    expect((await g.fabric.inventory()).natGateways).toHaveLength(1);
  });

  it('given no internet gateway, when check_gateway runs, then it fails permanently and begin records failed no_internet_gateway', async () => {
    const g = await given({ gateway: false });
    const error = await g.run('check_gateway').catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/^no_internet_gateway: /);
    await g.failedStep('check_gateway', (error as Error).message);
    await g.undo('begin');
    expect(await g.nat()).toMatchObject({ status: 'failed', failureCode: 'no_internet_gateway' });
    expect((await g.eip()).status).toBe('allocated');
    expect((await g.fabric.inventory()).natGateways).toEqual([]);
  });

  it('given an elastic IP already associated elsewhere, when take_elastic_ip runs, then it fails with elastic_ip_in_use and leaves the association', async () => {
    const g = await given();
    await g.executor.execute(
      elasticIpDecider,
      EIP,
      {
        type: 'AssociateElasticIp',
        target: { kind: 'instance', id: 'i-1' },
        vpcId: VPC,
        privateIp: '10.9.1.20',
        now: NOW,
      },
      userCtx('other'),
    );
    await g.run('check_gateway');
    const error = (await g.run('take_elastic_ip').catch((e: unknown) => e)) as Error;
    expect(natFailureOf(error.message).code).toBe('elastic_ip_in_use');
    await g.failedStep('take_elastic_ip', error.message);
    await g.undo('check_gateway');
    await g.undo('begin');
    expect(await g.nat()).toMatchObject({ status: 'failed', failureCode: 'elastic_ip_in_use' });
    expect((await g.eip()).association?.target).toEqual({ kind: 'instance', id: 'i-1' });
  });

  it('given a delete during provisioning, when record_active runs, then it fails and the compensations undo the snat and the association', async () => {
    const g = await given();
    await g.run('check_gateway');
    await g.run('take_elastic_ip');
    await g.run('program_snat');
    await g.executor.execute(
      natGatewayDecider,
      NAT,
      { type: 'DeleteNatGateway', now: NOW },
      userCtx('delete'),
    );
    await expect(g.run('record_active')).rejects.toThrow(/provisioning_failed: .*deleting/);
    await g.undo('program_snat');
    await g.undo('take_elastic_ip');
    await g.undo('begin');
    expect((await g.nat()).status).toBe('deleting');
    expect((await g.eip()).status).toBe('allocated');
    expect((await g.fabric.inventory()).natGateways).toEqual([]);
  });

  it('given an active NAT gateway being deleted, when the teardown runs, then the snat, the association and the address are gone and it is deleted', async () => {
    const g = await given();
    for (const step of ['check_gateway', 'take_elastic_ip', 'program_snat', 'record_active']) {
      await g.run(step);
    }
    await g.executor.execute(
      natGatewayDecider,
      NAT,
      { type: 'DeleteNatGateway', now: NOW },
      userCtx('delete'),
    );
    await g.tearDown();
    await g.tearDown();
    expect((await g.nat()).status).toBe('deleted');
    expect((await g.eip()).status).toBe('allocated');
    expect((await g.fabric.inventory()).natGateways).toEqual([]);
    const subnet = (await g.executor.load(subnetDecider, SUBNET)).state;
    expect(subnet.allocations[NAT]).toBeUndefined();
    expect(g.quotaReleased).toContain(NAT);
  });

  it('reads the failure code back from the stored error; anything else is provisioning_failed', () => {
    expect(natFailureOf('elastic_ip_in_use: taken')).toEqual({
      code: 'elastic_ip_in_use',
      message: 'taken',
    });
    expect(natFailureOf('ovn-nbctl: timeout')).toEqual({
      code: 'provisioning_failed',
      message: 'ovn-nbctl: timeout',
    });
  });
});
