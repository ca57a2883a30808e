/**
 * The NAT gateway saga on real PostgreSQL and real OVN, in a child process SIGKILLed during
 * provisioning: a restarted process ends the gateway `active` with exactly one snat rule, or
 * cleanly `failed` with nothing left in OVN. Under CI=true a missing OVN fails the file.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { execCommand } from '../../../src/drivers/exec';
import { OvnNetworkFabric } from '../../../src/drivers/ovn/ovn-network-fabric';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import {
  elasticIpDecider,
  natGatewayDecider,
  subnetDecider,
  vpcDecider,
} from '../../../src/network/domain';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import type { ChildRun } from '../compute/fixtures/child-run';
import type { NatChildMessage } from './fixtures/nat-child';
import { commandContext, requireOvn, SagaChildren, skipWithoutOvn } from './fixtures/saga-kill';

const OWNER = `nimbus-int-nat-${randomUUID().slice(0, 8)}`;
const EXTERNAL_SWITCH = `${OWNER}-ext`;
const TENANT = randomUUID();

describe.skipIf(skipWithoutOvn('NAT gateway saga'))(
  'NAT gateway saga, killed mid-provisioning (real OVN)',
  () => {
    let db: TestDatabase;
    let store: PostgresEventStore;
    let executor: CommandExecutor;
    const fabric = new OvnNetworkFabric({ owner: OWNER, externalSwitch: EXTERNAL_SWITCH });
    const children = new SagaChildren('test/int/network/fixtures/nat-child.ts', 'nat');
    let reachable = false;

    const ctx = () => commandContext(TENANT);

    beforeAll(async () => {
      await requireOvn();
      reachable = true;
      db = await createTestDatabase('nat_saga');
      store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 50 });
      await store.init();
      executor = new CommandExecutor(store);
    });

    afterEach(() => children.killAll());

    afterAll(async () => {
      if (reachable) await fabric.removeEverythingOwned();
      await store?.close();
      await db?.drop();
    });

    /** What the create handler leaves before the saga: a VPC (router, gateway port), an EIP, a pending NAT gateway. */
    async function pendingNatGateway(n: number, withGateway: boolean) {
      const vpcId = randomUUID();
      const subnetId = randomUUID();
      const eipId = randomUUID();
      const natGatewayId = randomUUID();
      const igwId = randomUUID();
      const cidr = `10.${90 + n}.0.0/16`;
      await executor.execute(
        vpcDecider,
        vpcId,
        {
          type: 'CreateVpc',
          vpcId,
          tenantId: TENANT,
          name: 'nat-int',
          cidrBlock: cidr,
          mainRouteTableId: randomUUID(),
          defaultSecurityGroupId: randomUUID(),
          now: new Date(),
        },
        ctx(),
      );
      await executor.execute(
        subnetDecider,
        subnetId,
        {
          type: 'CreateSubnet',
          subnetId,
          tenantId: TENANT,
          vpc: { vpcId, cidrBlock: cidr },
          siblings: [],
          name: 's',
          cidrBlock: `10.${90 + n}.1.0/24`,
          availabilityZone: 'local-1a',
          now: new Date(),
        },
        ctx(),
      );
      const publicIp = `100.127.${n}.10`;
      await executor.execute(
        elasticIpDecider,
        eipId,
        { type: 'AllocateElasticIp', eipId, tenantId: TENANT, publicIp, now: new Date() },
        ctx(),
      );
      const address = await executor.execute(
        subnetDecider,
        subnetId,
        { type: 'AllocateAddress', holderId: natGatewayId, requestedIp: null, now: new Date() },
        ctx(),
      );
      await executor.execute(
        natGatewayDecider,
        natGatewayId,
        {
          type: 'CreateNatGateway',
          natGatewayId,
          tenantId: TENANT,
          vpcId,
          subnetId,
          eipId,
          privateIp: address.state.allocations[natGatewayId],
          now: new Date(),
        },
        ctx(),
      );
      await fabric.ensureRouter({ vpcId, tenantId: TENANT, cidr });
      if (withGateway) {
        await fabric.attachGateway({
          gatewayId: igwId,
          vpcId,
          tenantId: TENANT,
          externalIp: `100.127.${n}.2`,
          externalPrefixLength: 24,
          nextHop: `100.127.${n}.1`,
        });
      }
      return { vpcId, eipId, natGatewayId, igwId: withGateway ? igwId : '', publicIp };
    }

    function spawnChild(
      nat: { natGatewayId: string; igwId: string },
      pause = '',
    ): ChildRun<NatChildMessage> {
      return children.spawn({
        NAT_TEST_DB: db.url,
        NAT_PAUSE: pause,
        NAT_GATEWAY: nat.natGatewayId,
        NAT_TENANT: TENANT,
        NAT_IGW: nat.igwId,
        NAT_OWNER: OWNER,
      });
    }

    /** The snat rules OVN holds for the VPC's router. */
    async function snatRules(vpcId: string): Promise<string[]> {
      const { stdout } = await execCommand('ovn-nbctl', [
        '--timeout=10',
        'lr-nat-list',
        `nimbus-vpc-${vpcId}`,
      ]);
      return stdout.split('\n').filter((line) => line.startsWith('snat'));
    }

    it.each([
      ['after:SagaStepSucceeded:take_elastic_ip', 1],
      ['after:SagaStepSucceeded:program_snat', 2],
      ['after:SagaStepStarted:program_snat', 3],
    ])(
      'killed at %s, a restarted process ends the NAT gateway active with one snat rule',
      async (pause, n) => {
        const nat = await pendingNatGateway(n, true);
        const first = spawnChild(nat, pause);
        await first.next('paused');
        await first.kill();
        expect((await executor.load(natGatewayDecider, nat.natGatewayId)).state.status).toBe(
          'pending',
        );

        const second = spawnChild(nat);
        expect((await second.next('settled')).status).toBe('completed');
        const state = (await executor.load(natGatewayDecider, nat.natGatewayId)).state;
        expect(state).toMatchObject({ status: 'active', publicIp: nat.publicIp });
        const eip = (await executor.load(elasticIpDecider, nat.eipId)).state;
        expect(eip.association?.target).toEqual({ kind: 'nat_gateway', id: nat.natGatewayId });
        const rules = await snatRules(nat.vpcId);
        expect(rules).toHaveLength(1);
        expect(rules[0]).toContain(nat.publicIp);
        const types = (await store.readStream(`nat-gateway-${nat.natGatewayId}`)).map(
          (e) => e.type,
        );
        expect(types).toEqual(['NatGatewayCreated', 'NatGatewayActivated']);
      },
    );

    it('without an internet gateway, killed while compensating, it ends failed with nothing left in OVN', async () => {
      const nat = await pendingNatGateway(4, false);
      const first = spawnChild(nat, 'after:SagaCompensationStarted:');
      await first.next('paused');
      await first.kill();

      const second = spawnChild(nat);
      expect((await second.next('settled')).status).toBe('compensated');
      const state = (await executor.load(natGatewayDecider, nat.natGatewayId)).state;
      expect(state).toMatchObject({ status: 'failed', failureCode: 'no_internet_gateway' });
      expect((await executor.load(elasticIpDecider, nat.eipId)).state.status).toBe('allocated');
      expect(await snatRules(nat.vpcId)).toEqual([]);
      const inventory = await fabric.inventory();
      expect(inventory.natGateways.filter((g) => g.natGatewayId === nat.natGatewayId)).toEqual([]);
    });

    it('a NAT gateway deleted while its saga was down ends with no snat and its elastic IP free', async () => {
      const nat = await pendingNatGateway(5, true);
      const first = spawnChild(nat, 'after:SagaStepSucceeded:program_snat');
      await first.next('paused');
      await first.kill();
      expect(await snatRules(nat.vpcId)).toHaveLength(1);
      await executor.execute(
        natGatewayDecider,
        nat.natGatewayId,
        { type: 'DeleteNatGateway', now: new Date() },
        ctx(),
      );

      const second = spawnChild(nat);
      expect((await second.next('settled')).status).toBe('compensated');
      expect((await executor.load(natGatewayDecider, nat.natGatewayId)).state.status).toBe(
        'deleting',
      );
      expect((await executor.load(elasticIpDecider, nat.eipId)).state.status).toBe('allocated');
      expect(await snatRules(nat.vpcId)).toEqual([]);
    });
  },
);
