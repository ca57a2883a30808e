import { describe, expect, it } from 'vitest';

import { SimulatedNetworkFabric } from '../../src/drivers/ovn/simulated-network-fabric';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import type { CommandContext } from '../../src/kernel/command-context';
import { vpcPeeringDecider, type VpcPeeringCommand } from '../../src/network/domain';
import { InMemoryEventStore } from '../../test/support/in-memory-event-store';
import { SagaWait, type RuntimeStep, type StepContext } from '../runtime/definition';
import {
  VPC_PEERING_DELETE_SAGA,
  VPC_PEERING_SAGA,
  vpcPeeringDeleteSaga,
  vpcPeeringSaga,
} from './vpc-peering.saga';

const REQUESTER_TENANT = '6e1f4a3e-0000-4000-8000-000000000001';
const ACCEPTER_TENANT = '6e1f4a3e-0000-4000-8000-000000000002';
const VPC_A = '6e1f4a3e-0000-4000-8000-00000000000a';
const VPC_B = '6e1f4a3e-0000-4000-8000-00000000000b';
const PEERING = '6e1f4a3e-0000-4000-8000-000000000010';
const NOW = new Date('2026-03-01T00:00:00Z');
const EXPIRES = new Date('2026-03-08T00:00:00Z');

const ctx = (commandId: string, tenantId: string): CommandContext => ({
  commandId,
  tenantId,
  actor: { type: 'user', id: 'u-1' },
  requestId: null,
  sourceIp: null,
  correlationId: 'corr-1',
  causationId: null,
  now: NOW,
});

/** Given: a cross-tenant peering request, two routers on a simulated fabric, a settable clock. */
async function given() {
  const store = new InMemoryEventStore();
  const executor = new CommandExecutor(store);
  const fabric = new SimulatedNetworkFabric();
  await fabric.ensureRouter({ vpcId: VPC_A, tenantId: REQUESTER_TENANT, cidr: '10.1.0.0/16' });
  await fabric.ensureRouter({ vpcId: VPC_B, tenantId: ACCEPTER_TENANT, cidr: '10.2.0.0/16' });
  await executor.execute(
    vpcPeeringDecider,
    PEERING,
    {
      type: 'RequestVpcPeering',
      peeringId: PEERING,
      requester: { vpcId: VPC_A, tenantId: REQUESTER_TENANT, cidrBlock: '10.1.0.0/16' },
      accepter: { vpcId: VPC_B, tenantId: ACCEPTER_TENANT, cidrBlock: '10.2.0.0/16' },
      livePeeringsOfPair: [],
      expiresAt: EXPIRES,
      now: NOW,
    },
    ctx('request', REQUESTER_TENANT),
  );
  let clock = NOW;
  const ports = { executor, store, fabric, now: () => clock };
  const provision = vpcPeeringSaga(ports);
  const teardown = vpcPeeringDeleteSaga(ports);
  const results: Record<string, unknown> = {};
  const context = (sagaName: string): StepContext<unknown, Record<string, unknown>> => ({
    sagaName,
    sagaId: PEERING,
    input: { peeringId: PEERING },
    results,
    attempt: 1,
    signal: new AbortController().signal,
    tenantId: REQUESTER_TENANT,
    correlationId: 'corr-1',
    inputs: [],
  });
  const stepOf = (name: string): RuntimeStep => {
    const found = provision.steps.find((s) => s.name === name);
    if (!found) throw new Error(`no step ${name}`);
    return found;
  };
  const run = async (name: string) => {
    results[name] = await stepOf(name).execute(context(VPC_PEERING_SAGA));
    return results[name];
  };
  const runAll = async () => {
    for (const step of provision.steps) await run(step.name);
  };
  const undo = (name: string) =>
    stepOf(name).compensate?.({ ...context(VPC_PEERING_SAGA), result: results[name] ?? null });
  const tearDown = async () => {
    for (const step of teardown.steps) await step.execute(context(VPC_PEERING_DELETE_SAGA));
  };
  const answer = (command: VpcPeeringCommand, tenantId = ACCEPTER_TENANT) =>
    executor.execute(vpcPeeringDecider, PEERING, command, ctx(`answer-${command.type}`, tenantId));
  const peering = async () => (await executor.load(vpcPeeringDecider, PEERING)).state;
  return {
    fabric,
    run,
    runAll,
    undo,
    tearDown,
    answer,
    peering,
    setClock: (d: Date) => (clock = d),
  };
}

describe('VPC peering saga steps (fake ports, no I/O)', () => {
  it('given a pending request, when await_answer runs before it expires, then it waits until the expiry (a persisted timeout)', async () => {
    const g = await given();
    const error = await g.run('await_answer').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SagaWait);
    expect((error as SagaWait).until).toBe(EXPIRES.toISOString());
    expect((await g.peering()).status).toBe('pending-acceptance');
  });

  it('given a pending request past its expiry, when await_answer runs, then it is expired and nothing is linked', async () => {
    const g = await given();
    g.setClock(EXPIRES);
    await g.runAll();
    expect((await g.peering()).status).toBe('expired');
    expect((await g.fabric.inventory()).peerings).toEqual([]);
  });

  it('given an accepted request, when the steps run, then the routers are linked and the peering is active', async () => {
    const g = await given();
    await g.answer({ type: 'AcceptVpcPeering', tenantId: ACCEPTER_TENANT, now: NOW });
    await g.runAll();
    expect((await g.peering()).status).toBe('active');
    expect((await g.fabric.inventory()).peerings).toEqual([{ peeringId: PEERING }]);
    // A late expiry timer changes nothing.
    g.setClock(EXPIRES);
    await g.runAll();
    expect((await g.peering()).status).toBe('active');
  });

  it('given a rejected request, when the steps run, then nothing is linked', async () => {
    const g = await given();
    await g.answer({ type: 'RejectVpcPeering', tenantId: ACCEPTER_TENANT, now: NOW });
    await g.runAll();
    expect((await g.peering()).status).toBe('rejected');
    expect((await g.fabric.inventory()).peerings).toEqual([]);
  });

  it('given a delete during provisioning, when record_active runs, then it fails and the compensations unlink and record nothing more', async () => {
    const g = await given();
    await g.answer({ type: 'AcceptVpcPeering', tenantId: ACCEPTER_TENANT, now: NOW });
    await g.run('await_answer');
    await g.run('link_routers');
    await g.answer({ type: 'DeleteVpcPeering', now: NOW });
    await expect(g.run('record_active')).rejects.toThrow(/provisioning_failed/);
    await g.undo('link_routers');
    await g.undo('await_answer');
    expect((await g.peering()).status).toBe('deleting');
    expect((await g.fabric.inventory()).peerings).toEqual([]);
  });

  it('given a link written before link_routers failed with an error, when the saga compensates, then the peering is failed and nothing of the link is left', async () => {
    const g = await given();
    await g.answer({ type: 'AcceptVpcPeering', tenantId: ACCEPTER_TENANT, now: NOW });
    await g.run('await_answer');
    // The router ports and routes are written, then OVN fails: an error, so the runtime
    // compensates only await_answer (link_routers did not succeed and its outcome is known).
    g.fabric.waitRealized = () => Promise.reject(new Error('ovn-nbctl: connection refused'));
    await expect(g.run('link_routers')).rejects.toThrow(/connection refused/);
    expect((await g.fabric.inventory()).peerings).toEqual([{ peeringId: PEERING }]);
    g.fabric.waitRealized = () => Promise.resolve({ ms: 0 });
    await g.undo('await_answer');
    expect(await g.peering()).toMatchObject({
      status: 'failed',
      failureCode: 'provisioning_failed',
    });
    expect((await g.fabric.inventory()).peerings).toEqual([]);
  });

  it('given an active peering being deleted, when the teardown runs (twice), then the link is gone and it is deleted', async () => {
    const g = await given();
    await g.answer({ type: 'AcceptVpcPeering', tenantId: ACCEPTER_TENANT, now: NOW });
    await g.runAll();
    await g.answer({ type: 'DeleteVpcPeering', now: NOW });
    await g.tearDown();
    await g.tearDown();
    expect((await g.peering()).status).toBe('deleted');
    expect((await g.fabric.inventory()).peerings).toEqual([]);
  });
});
