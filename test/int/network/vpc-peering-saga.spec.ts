/**
 * The VPC peering sagas on real PostgreSQL and real OVN, in a child process SIGKILLed during
 * provisioning and during teardown: a restarted process ends the peering `active` with exactly
 * the link (a router port on each VPC's router) and one static route per side for exactly the
 * other side's block, or cleanly `failed`, or `deleted`, with nothing of it left in OVN or on the
 * host. Under CI=true a missing OVN fails the file.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  VPC_PEERING_DELETE_SAGA,
  VPC_PEERING_SAGA,
} from '../../../sagas/vpc-peering/vpc-peering.saga';
import { execCommand } from '../../../src/drivers/exec';
import { ovnNames, peeringLink } from '../../../src/drivers/ovn/ovn-names';
import { OvnNetworkFabric } from '../../../src/drivers/ovn/ovn-network-fabric';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { vpcPeeringDecider } from '../../../src/network/domain';
import { testOvnOwner } from '../../support/ovn-owner';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import type { ChildRun } from '../compute/fixtures/child-run';
import type { PeeringChildMessage } from './fixtures/peering-child';
import { commandContext, requireOvn, SagaChildren, skipWithoutOvn } from './fixtures/saga-kill';

// A test owner (`nimbus-t<pid>-…`): what a killed run leaves, the next run's global setup removes.
const OWNER = testOvnOwner(`peering-saga-${randomUUID()}`);
const REQUESTER_TENANT = randomUUID();
const ACCEPTER_TENANT = randomUUID();

interface Peering {
  peeringId: string;
  requester: { vpcId: string; cidr: string };
  accepter: { vpcId: string; cidr: string };
}

interface Route {
  prefix: string;
  nextHop: string;
  port: string;
}

describe.skipIf(skipWithoutOvn('VPC peering saga'))(
  'VPC peering sagas, killed mid-provisioning and mid-teardown (real OVN)',
  () => {
    let db: TestDatabase;
    let store: PostgresEventStore;
    let executor: CommandExecutor;
    const fabric = new OvnNetworkFabric({ owner: OWNER });
    const children = new SagaChildren('test/int/network/fixtures/peering-child.ts', 'peering');
    const timings: string[] = [];
    let reachable = false;

    beforeAll(async () => {
      await requireOvn();
      reachable = true;
      db = await createTestDatabase('peering_saga');
      store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 50 });
      await store.init();
      executor = new CommandExecutor(store);
    });

    afterEach(() => children.killAll());

    afterAll(async () => {
      if (timings.length > 0) console.info(`[peering kills]\n  ${timings.join('\n  ')}`);
      if (reachable) await fabric.removeEverythingOwned();
      await store?.close();
      await db?.drop();
    });

    /** What the request handler leaves: two VPC routers in OVN, a peering pending acceptance. */
    async function requestedPeering(n: number): Promise<Peering> {
      const peering = {
        peeringId: randomUUID(),
        requester: { vpcId: randomUUID(), cidr: `10.${100 + n}.0.0/16` },
        accepter: { vpcId: randomUUID(), cidr: `10.${150 + n}.0.0/16` },
      };
      await fabric.ensureRouter({
        vpcId: peering.requester.vpcId,
        tenantId: REQUESTER_TENANT,
        cidr: peering.requester.cidr,
      });
      await fabric.ensureRouter({
        vpcId: peering.accepter.vpcId,
        tenantId: ACCEPTER_TENANT,
        cidr: peering.accepter.cidr,
      });
      await executor.execute(
        vpcPeeringDecider,
        peering.peeringId,
        {
          type: 'RequestVpcPeering',
          peeringId: peering.peeringId,
          requester: {
            vpcId: peering.requester.vpcId,
            tenantId: REQUESTER_TENANT,
            cidrBlock: peering.requester.cidr,
          },
          accepter: {
            vpcId: peering.accepter.vpcId,
            tenantId: ACCEPTER_TENANT,
            cidrBlock: peering.accepter.cidr,
          },
          livePeeringsOfPair: [],
          expiresAt: new Date(Date.now() + 3_600_000),
          now: new Date(),
        },
        commandContext(REQUESTER_TENANT),
      );
      return peering;
    }

    function spawnChild(
      peering: Peering,
      saga: string,
      env: { pause?: string; fail?: string } = {},
    ): ChildRun<PeeringChildMessage> {
      return children.spawn({
        PEERING_TEST_DB: db.url,
        PEERING_ID: peering.peeringId,
        PEERING_SAGA: saga,
        PEERING_ACCEPT: '1',
        PEERING_PAUSE: env.pause ?? '',
        PEERING_FAIL: env.fail ?? '',
        PEERING_OWNER: OWNER,
      });
    }

    /** Runs a restarted child until its saga ends, then stops it; notes how long that took. */
    async function restart(
      what: string,
      peering: Peering,
      saga: string,
      fail?: string,
    ): Promise<string> {
      const started = performance.now();
      const child = spawnChild(peering, saga, { fail });
      const { status } = await child.next('settled');
      await child.kill();
      timings.push(
        `${what}: restarted, ${status} in ${Math.round(performance.now() - started)} ms`,
      );
      return status;
    }

    async function nbctl(args: string[]): Promise<string> {
      return (await execCommand('ovn-nbctl', ['--timeout=10', ...args])).stdout;
    }

    /** The router ports on the VPC's router, by name. */
    async function routerPorts(vpcId: string): Promise<string[]> {
      const out = await nbctl(['lrp-list', ovnNames.router(vpcId)]);
      return [...out.matchAll(/\((\S+)\)/g)].map((m) => m[1]).sort();
    }

    /** The static routes of the VPC's router (every route table): `prefix next-hop dst-ip port`. */
    async function routes(vpcId: string): Promise<Route[]> {
      const out = await nbctl(['lr-route-list', ovnNames.router(vpcId)]);
      return [
        ...out.matchAll(/^\s*(\d+\.\d+\.\d+\.\d+\/\d+)\s+(\S+)\s+(?:(?:dst|src)-ip\s+)?(\S*)/gm),
      ].map((m) => ({
        prefix: m[1],
        nextHop: m[2],
        port: m[3],
      }));
    }

    /** Rows anywhere in the northbound database that name the peering. */
    async function rowsOfPeering(peeringId: string): Promise<string[]> {
      const rows: string[] = [];
      for (const table of ['logical_router_port', 'logical_router_static_route']) {
        const out = await nbctl([
          '--bare',
          '--columns=_uuid',
          'find',
          table,
          `external_ids:nimbus_peering=${peeringId}`,
        ]);
        rows.push(...out.split('\n').filter((line) => line.trim() !== ''));
      }
      return rows;
    }

    async function expectLinked(p: Peering): Promise<void> {
      const link = peeringLink(p.peeringId);
      const requesterPort = ovnNames.peeringPort(p.peeringId, 'requester');
      const accepterPort = ovnNames.peeringPort(p.peeringId, 'accepter');
      expect(await routerPorts(p.requester.vpcId)).toEqual([requesterPort]);
      expect(await routerPorts(p.accepter.vpcId)).toEqual([accepterPort]);
      expect(await routes(p.requester.vpcId)).toEqual([
        { prefix: p.accepter.cidr, nextHop: link.accepterIp, port: requesterPort },
      ]);
      expect(await routes(p.accepter.vpcId)).toEqual([
        { prefix: p.requester.cidr, nextHop: link.requesterIp, port: accepterPort },
      ]);
      expect(await rowsOfPeering(p.peeringId)).toHaveLength(4);
      expect((await fabric.inventory()).hostPorts).toEqual([]);
    }

    async function expectNothingLeft(p: Peering): Promise<void> {
      for (const vpcId of [p.requester.vpcId, p.accepter.vpcId]) {
        expect(await routerPorts(vpcId)).toEqual([]);
        expect(await routes(vpcId)).toEqual([]);
      }
      expect(await rowsOfPeering(p.peeringId)).toEqual([]);
      const inventory = await fabric.inventory();
      expect(inventory.peerings.filter((x) => x.peeringId === p.peeringId)).toEqual([]);
      expect(inventory.hostPorts).toEqual([]);
    }

    const status = async (peeringId: string) =>
      (await executor.load(vpcPeeringDecider, peeringId)).state;

    const peeringEvents = async (peeringId: string) =>
      (await store.readStream(`vpc-peering-${peeringId}`)).map((e) => e.type);

    /** Waits until the saga instance's stream ends with a terminal event; returns that event. */
    async function sagaEnd(saga: string, sagaId: string): Promise<string> {
      const terminal = new Set(['SagaCompleted', 'SagaCompensated', 'SagaFailed']);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const events = await store.readStream(`saga_${saga}-${sagaId}`);
        const last = events.at(-1)?.type ?? '';
        if (terminal.has(last)) return last;
        if (Date.now() > deadline) throw new Error(`saga ${saga}-${sagaId} did not end`);
        await new Promise((wake) => setTimeout(wake, 100));
      }
    }

    it.each([
      // the accept fed to the waiting saga as an input; nothing done for it yet
      ['append:SagaInputReceived', 1, 0, 0, 0],
      // the answer `accepted` recorded as the first step's result
      ['after:SagaStepSucceeded:await_answer', 2, 0, 0, 0],
      // the link's two router ports written (one transaction), no route yet
      ['ovn:lrp-add', 3, 1, 0, 0],
      // the requester's route written, not the accepter's
      ['ovn:static_routes', 4, 1, 1, 0],
      // OVN realized the link and both routes; the step's success not recorded
      ['ovn:sync', 5, 1, 1, 1],
      // the link recorded; `active` not yet
      ['after:SagaStepSucceeded:link_routers', 6, 1, 1, 1],
    ])(
      'killed at %s, a restarted process ends the peering active with exactly its link and routes',
      async (pause, n, portsPerSide, requesterRoutes, accepterRoutes) => {
        const p = await requestedPeering(n);
        const first = spawnChild(p, VPC_PEERING_SAGA, { pause });
        const spawned = performance.now();
        expect((await first.next('paused')).at).toBe(pause);
        await first.kill();
        const killedAfter = Math.round(performance.now() - spawned);
        expect((await status(p.peeringId)).status).toBe('provisioning');
        expect(await routerPorts(p.requester.vpcId)).toHaveLength(portsPerSide);
        expect(await routerPorts(p.accepter.vpcId)).toHaveLength(portsPerSide);
        expect(await routes(p.requester.vpcId)).toHaveLength(requesterRoutes);
        expect(await routes(p.accepter.vpcId)).toHaveLength(accepterRoutes);

        const ended = await restart(
          `${pause} (killed ${killedAfter} ms after spawn)`,
          p,
          VPC_PEERING_SAGA,
        );
        expect(ended).toBe('completed');
        expect(await status(p.peeringId)).toMatchObject({ status: 'active', failureCode: null });
        await expectLinked(p);
        expect(await peeringEvents(p.peeringId)).toEqual([
          'VpcPeeringRequested',
          'VpcPeeringAccepted',
          'VpcPeeringActivated',
        ]);
      },
    );

    it('killed right after `active` was appended, a restarted process completes it once', async () => {
      const pause = 'append:VpcPeeringActivated';
      const p = await requestedPeering(7);
      const first = spawnChild(p, VPC_PEERING_SAGA, { pause });
      await first.next('paused');
      await first.kill();
      expect((await status(p.peeringId)).status).toBe('active');

      expect(await restart(pause, p, VPC_PEERING_SAGA)).toBe('completed');
      expect((await status(p.peeringId)).status).toBe('active');
      await expectLinked(p);
      expect(await peeringEvents(p.peeringId)).toEqual([
        'VpcPeeringRequested',
        'VpcPeeringAccepted',
        'VpcPeeringActivated',
      ]);
    });

    it('killed after the link was written, then OVN refusing routes: it ends failed with nothing left in OVN', async () => {
      const p = await requestedPeering(8);
      const first = spawnChild(p, VPC_PEERING_SAGA, { pause: 'ovn:lrp-add' });
      await first.next('paused');
      await first.kill();
      expect(await routerPorts(p.requester.vpcId)).toHaveLength(1);

      const ended = await restart(
        'ovn:lrp-add, then routes refused',
        p,
        VPC_PEERING_SAGA,
        'ovn:static_routes',
      );
      expect(ended).toBe('compensated');
      expect(await status(p.peeringId)).toMatchObject({
        status: 'failed',
        failureCode: 'provisioning_failed',
      });
      await expectNothingLeft(p);
    });

    it('failing, killed while compensating: a restarted process ends it failed with nothing left in OVN', async () => {
      const pause = 'after:SagaCompensationStarted:';
      const p = await requestedPeering(9);
      const first = spawnChild(p, VPC_PEERING_SAGA, { pause, fail: 'ovn:static_routes' });
      await first.next('paused');
      await first.kill();
      expect((await status(p.peeringId)).status).toBe('provisioning');

      expect(await restart(pause, p, VPC_PEERING_SAGA)).toBe('compensated');
      expect(await status(p.peeringId)).toMatchObject({
        status: 'failed',
        failureCode: 'provisioning_failed',
      });
      await expectNothingLeft(p);
    });

    it('deleted while its provisioning saga was down mid-link: it ends deleted with nothing left in OVN', async () => {
      const p = await requestedPeering(10);
      const first = spawnChild(p, VPC_PEERING_SAGA, { pause: 'ovn:static_routes' });
      await first.next('paused');
      await first.kill();
      expect(await routes(p.requester.vpcId)).toHaveLength(1);
      expect(await routes(p.accepter.vpcId)).toEqual([]);
      await executor.execute(
        vpcPeeringDecider,
        p.peeringId,
        { type: 'DeleteVpcPeering', now: new Date() },
        commandContext(REQUESTER_TENANT),
      );

      expect(await restart('ovn:static_routes, then deleted', p, VPC_PEERING_DELETE_SAGA)).toBe(
        'completed',
      );
      // The child is stopped once the delete saga settles; the provisioning saga's compensation
      // may still be running then, so a process runs it to its end too.
      await restart('ovn:static_routes, then deleted: provisioning', p, VPC_PEERING_SAGA);
      expect(await sagaEnd(VPC_PEERING_SAGA, p.peeringId)).toBe('SagaCompensated');
      expect((await status(p.peeringId)).status).toBe('deleted');
      await expectNothingLeft(p);
    });

    it.each([
      // one side's route removed (in the order OVN lists them), the other's and both ports not
      ['ovn:static_routes', 11, 1, 1],
      // routes and ports removed, not yet realized; `deleted` not recorded
      ['ovn:lrp-del', 12, 0, 0],
      // the unlink realized and recorded; `deleted` not yet
      ['after:SagaStepSucceeded:unlink_routers', 13, 0, 0],
    ])(
      'an active peering, its delete saga killed at %s: a restarted process ends it deleted with nothing left',
      async (pause, n, portsPerSide, routesLeft) => {
        const p = await requestedPeering(n);
        // Provisioned by a child that is then stopped: alive, it would follow the delete itself.
        const provisioner = spawnChild(p, VPC_PEERING_SAGA);
        expect(await provisioner.next('settled')).toMatchObject({ status: 'completed' });
        await provisioner.kill();
        await expectLinked(p);
        await executor.execute(
          vpcPeeringDecider,
          p.peeringId,
          { type: 'DeleteVpcPeering', now: new Date() },
          commandContext(ACCEPTER_TENANT),
        );
        const first = spawnChild(p, VPC_PEERING_DELETE_SAGA, { pause });
        await first.next('paused');
        await first.kill();
        expect((await status(p.peeringId)).status).toBe('deleting');
        const left = [...(await routes(p.requester.vpcId)), ...(await routes(p.accepter.vpcId))];
        expect(left).toHaveLength(routesLeft);
        expect(await routerPorts(p.requester.vpcId)).toHaveLength(portsPerSide);
        expect(await routerPorts(p.accepter.vpcId)).toHaveLength(portsPerSide);

        expect(await restart(`delete, ${pause}`, p, VPC_PEERING_DELETE_SAGA)).toBe('completed');
        expect((await status(p.peeringId)).status).toBe('deleted');
        await expectNothingLeft(p);
        expect(await peeringEvents(p.peeringId)).toEqual([
          'VpcPeeringRequested',
          'VpcPeeringAccepted',
          'VpcPeeringActivated',
          'VpcPeeringDeletionStarted',
          'VpcPeeringDeleted',
        ]);
      },
    );
  },
);
