/**
 * The network's start-up reconcile, on real Docker and OVN, through the generated SDK: a VPC
 * with a subnet, a security group with a rule and a member, a route table associated with the
 * subnet and routing 0.0.0.0/0 to an attached internet gateway, an elastic IP associated with a
 * running busybox instance and an active peering with a second VPC. The test records the
 * northbound rows of its own OVN owner, stops the app, deletes every object of that owner (a
 * lost northbound database and host bridge, limited to this test: `removeOvnOwner` removes only
 * what carries this app's `nimbus_owner`), starts the app again on the same database and checks
 * that the same rows are back, readiness says `network: RECONCILED`, and the two instances of the
 * subnet ping each other again (traffic only between the test's containers). Under CI=true a
 * missing OVN or Docker fails the file; elsewhere it is skipped with a loud message.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTANCE_LAUNCH_SAGA } from '../../sagas/instance-launch/instance-launch.saga';
import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import type { AppConfig } from '../../src/config/config';
import { execCommand } from '../../src/drivers/exec';
import {
  mapColumn,
  parseOvsdbTable,
  setColumn,
  stringColumn,
  type OvsdbRow,
} from '../../src/drivers/ovn/ovsdb-json';
import { NetworkReconciler } from '../../src/network/application/network-reconciler';
import { unwrap } from '../../src/sdk/client';
import { isCI, removeLabelledContainers } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { removeOvnOwner } from '../support/ovn-owner';
import type { TestDatabase } from '../support/pg';
import { pollUntil, sdkFor, sdkSignUp, type SdkAccount } from '../support/sdk';
import { pingsFrom, until } from './network-traffic';

const ovnPresent = existsSync('/var/run/ovn/ovnnb_db.sock');
const dockerPresent = existsSync('/var/run/docker.sock');
if (!ovnPresent || !dockerPresent) {
  console.warn(
    `\n[network] ${isCI ? 'FAILING' : 'SKIPPING'} the network reconcile e2e tests: ` +
      `${ovnPresent ? '' : 'OVN is not running '}${dockerPresent ? '' : 'Docker is not running'}.\n`,
  );
}

const RUN = `net-rec-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';

/** The northbound tables the fabric writes, and the columns that say what a row is. */
const TABLES: Record<string, string[]> = {
  logical_router: ['name', 'external_ids'],
  logical_switch: ['name', 'external_ids'],
  logical_switch_port: ['name', 'type', 'addresses', 'port_security', 'options', 'external_ids'],
  logical_router_port: ['name', 'mac', 'networks', 'peer', 'options', 'external_ids'],
  port_group: ['name', 'ports', 'external_ids'],
  acl: ['direction', 'priority', 'match', 'action', 'external_ids'],
  logical_router_static_route: [
    'ip_prefix',
    'nexthop',
    'output_port',
    'route_table',
    'external_ids',
  ],
  nat: ['type', 'external_ip', 'logical_ip', 'external_ids'],
  dhcp_options: ['cidr', 'options', 'external_ids'],
};

async function nbctl(args: string[]): Promise<string> {
  return (await execCommand('ovn-nbctl', ['--timeout=20', ...args])).stdout;
}

async function ownedRows(owner: string, table: string, columns: string[]): Promise<OvsdbRow[]> {
  const out = await nbctl([
    '--format=json',
    `--columns=${columns.join(',')}`,
    'find',
    table,
    `external_ids:nimbus_owner="${owner}"`,
  ]);
  return parseOvsdbTable(out);
}

/**
 * What the owner has in the northbound database, one line per row with the columns that say
 * what it is (row uuids, which a re-creation changes, replaced by the names they point at).
 */
async function northboundState(owner: string): Promise<string[]> {
  const portNames = new Map(
    parseOvsdbTable(
      await nbctl(['--format=json', '--columns=_uuid,name', 'list', 'logical_switch_port']),
    ).map((row) => [stringColumn(row, '_uuid'), stringColumn(row, 'name')]),
  );
  const lines: string[] = [];
  for (const [table, columns] of Object.entries(TABLES)) {
    for (const row of await ownedRows(owner, table, columns)) {
      const described = columns.map((column) => {
        if (column === 'external_ids' || column === 'options') {
          return `${column}=${JSON.stringify(Object.entries(mapColumn(row, column)).sort())}`;
        }
        if (column === 'ports') {
          const names = setColumn(row, column).map((uuid) => portNames.get(uuid) ?? uuid);
          return `ports=${names.sort().join(',')}`;
        }
        const value = row[column];
        return `${column}=${
          Array.isArray(value) && value[0] === 'set'
            ? setColumn(row, column).sort().join(',')
            : stringColumn(row, column)
        }`;
      });
      lines.push(`${table}: ${described.join(' ')}`);
    }
  }
  return lines.sort();
}

interface Instance {
  id: string;
  status: string;
  private_ip: string | null;
}

describe.skipIf((!ovnPresent || !dockerPresent) && !isCI)(
  'network start-up reconcile, real Docker and OVN (e2e)',
  () => {
    let t: TestApp;
    let account: SdkAccount;
    let database: TestDatabase | undefined;
    const launchedIds: string[] = [];

    const appConfig: Partial<AppConfig> = {
      docker: 'docker',
      ovs: 'simulated',
      ovn: 'ovn',
      authRateLimitPerMinute: 10_000,
      containerLabel: { key: TEST_LABEL, value: RUN },
    };

    async function launch(name: string, subnetId: string): Promise<string> {
      const body = unwrap(
        await account.sdk.POST('/instances', {
          body: { name, image: 'busybox', instance_type: 'basic-1', subnet_id: subnetId },
        }),
      ) as unknown as Instance;
      launchedIds.push(body.id);
      return body.id;
    }

    async function running(id: string): Promise<Instance> {
      await t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(INSTANCE_LAUNCH_SAGA, id, 60_000);
      return pollUntil(
        () => account.sdk.GET('/instances/{id}', { params: { path: { id } } }),
        (i) => i.status === 'RUNNING' && i.private_ip !== null,
        30_000,
      );
    }

    async function readiness(): Promise<{
      checks?: Record<string, string>;
      details?: Record<string, string>;
    }> {
      const res = await account.sdk.GET('/health/ready');
      return (res.data ?? res.error ?? {}) as {
        checks?: Record<string, string>;
        details?: Record<string, string>;
      };
    }

    beforeAll(async () => {
      t = await startTestApp({ label: 'network_reconcile', config: appConfig });
      account = await sdkSignUp(t, 'net-rec');
    }, 120_000);

    afterAll(async () => {
      if (!t) return;
      for (const id of launchedIds) {
        await account.sdk
          .DELETE('/instances/{id}', { params: { path: { id } } })
          .catch(() => undefined);
      }
      const owner = t.config.ovnOwner;
      const dataDir = t.config.dataDir;
      await t.close();
      if (database) {
        // The restarted app runs on a database it does not own: its network and data go here.
        await removeOvnOwner(owner).catch(() => undefined);
        await database.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
      await removeLabelledContainers(TEST_LABEL, RUN);
    });

    it('a lost northbound database and host bridge come back on restart; the subnet carries packets again', async () => {
      const { sdk } = account;
      const vpc = unwrap(
        await sdk.POST('/vpcs', { body: { name: 'rec-a', cidr_block: '10.97.0.0/16' } }),
      );
      const subnet = unwrap(
        await sdk.POST('/vpcs/{vpcId}/subnets', {
          params: { path: { vpcId: vpc.id } },
          body: { name: 'rec-a-1', cidr_block: '10.97.1.0/24', availability_zone: 'local-1a' },
        }),
      );
      const other = unwrap(
        await sdk.POST('/vpcs', { body: { name: 'rec-b', cidr_block: '10.98.0.0/16' } }),
      );
      const group = unwrap(
        await sdk.POST('/security-groups', {
          body: { vpc_id: vpc.id, name: 'web', description: 'reconcile test' },
        }),
      );
      unwrap(
        await sdk.POST('/security-groups/{id}/rules', {
          params: { path: { id: group.id } },
          body: {
            direction: 'ingress',
            protocol: 'tcp',
            port_min: 80,
            port_max: 80,
            cidr: '0.0.0.0/0',
          },
        }),
      );
      const igw = unwrap(await sdk.POST('/internet-gateways', {}));
      unwrap(
        await sdk.POST('/internet-gateways/{id}/attach', {
          params: { path: { id: igw.id } },
          body: { vpc_id: vpc.id },
        }),
      );
      const table = unwrap(
        await sdk.POST('/route-tables', {
          body: { vpc_id: vpc.id, name: 'public', is_main: false },
        }),
      );
      unwrap(
        await sdk.POST('/route-tables/{id}/associate', {
          params: { path: { id: table.id } },
          body: { subnet_id: subnet.id },
        }),
      );
      unwrap(
        await sdk.POST('/route-tables/{id}/routes', {
          params: { path: { id: table.id } },
          body: { destination_cidr: '0.0.0.0/0', target_type: 'igw', target_id: igw.id },
        }),
      );
      const peering = unwrap(
        await sdk.POST('/vpc-peerings', {
          body: { requester_vpc_id: vpc.id, accepter_vpc_id: other.id },
        }),
      );
      unwrap(await sdk.POST('/vpc-peerings/{id}/accept', { params: { path: { id: peering.id } } }));
      await pollUntil(
        () => sdk.GET('/vpc-peerings/{id}', { params: { path: { id: peering.id } } }),
        (p) => p.status === 'active',
        30_000,
      );

      const [id1, id2] = [await launch('rec-1', subnet.id), await launch('rec-2', subnet.id)];
      const [i1, i2] = await Promise.all([running(id1), running(id2)]);
      unwrap(
        await sdk.POST('/security-groups/attach', {
          body: { instance_id: id1, group_id: group.id },
        }),
      );
      const eip = unwrap(await sdk.POST('/elastic-ips', {}));
      unwrap(
        await sdk.POST('/elastic-ips/{id}/associate', {
          params: { path: { id: eip.id } },
          body: { instance_id: id1 },
        }),
      );
      expect(await until(() => pingsFrom(id1, i2.private_ip as string), 40)).toBe(true);

      const owner = t.config.ovnOwner;
      const before = await northboundState(owner);
      // What the test made is there: routers of both VPCs, the switch, both NICs, the groups,
      // the rule, the gateway port, the elastic IP's dnat_and_snat, the peering's ports and routes.
      const text = before.join('\n');
      for (const id of [vpc.id, other.id, subnet.id, id1, id2, igw.id, eip.id, peering.id]) {
        expect(text).toContain(id);
      }
      expect(before.filter((l) => l.startsWith('nat: type=dnat_and_snat'))).toHaveLength(1);
      expect(text).toContain(`route_table=nimbus-rtb-${table.id}`);
      const ready = await readiness();
      expect(ready.checks?.network).toBe('RECONCILED');

      // A lost northbound database (and host bridge), for this test's owner only, while the
      // API is down.
      database = t.database;
      const dataDir = t.config.dataDir;
      await t.app.close();
      await removeOvnOwner(owner);
      expect(await northboundState(owner)).toEqual([]);
      expect(await pingsFrom(id1, i2.private_ip as string)).toBe(false);

      t = await startTestApp({
        label: 'network_reconcile',
        database,
        config: { ...appConfig, dataDir },
      });
      expect(t.config.ovnOwner).toBe(owner);
      account = { ...account, sdk: sdkFor(t, { apiKey: account.apiKey }) };
      let after = await readiness();
      for (let i = 0; i < 200 && after.checks?.network !== 'RECONCILED'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await readiness();
      }
      expect(after.checks?.network, JSON.stringify(after.details)).toBe('RECONCILED');
      console.log(`[network reconcile] ${after.details?.network ?? ''}`);
      expect(await northboundState(owner)).toEqual(before);
      expect(await until(() => pingsFrom(id1, i2.private_ip as string), 40)).toBe(true);
      expect(await pingsFrom(id2, i1.private_ip as string)).toBe(true);
      expect(await pingsFrom(id1, subnet.gateway_ip)).toBe(true);

      // A second run on an intact fabric changes nothing and finds no orphan.
      const again = await t.app.get(NetworkReconciler).reconcileAll();
      console.log(
        `[network reconcile] second run: ${again.ensured} objects in ${again.ms} ms (realized in ${again.realizedMs} ms): ${JSON.stringify(again.byKind)}`,
      );
      expect(again.failures).toEqual([]);
      expect(again.orphans).toEqual([]);
      expect(again.byKind).toMatchObject({
        routers: 2,
        switches: 1,
        nics: 2,
        gateways: 1,
        elasticIps: 1,
        peerings: 1,
        securityGroups: 3,
        securityRules: 3,
        memberships: 3,
        natGateways: 0,
        routes: 1,
        routeTableBindings: 1,
      });
      expect(again.ensured).toBe(19);
      expect(await northboundState(owner)).toEqual(before);
    }, 240_000);
  },
);
