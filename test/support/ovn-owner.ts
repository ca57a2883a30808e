import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { execCommand } from '../../src/drivers/exec';
import {
  installationFabricOptions,
  OvnNetworkFabric,
} from '../../src/drivers/ovn/ovn-network-fabric';

/**
 * Every test app marks what it makes in OVN with an owner of its own, `nimbus-t<pid>-<hash>`:
 * the pid of the test process and a hash of the app's database, so an app restarted on the same
 * database keeps its network. The app's close() removes what that owner made; the next run's
 * global setup removes what a killed run left (owners whose process is gone). Without this, a
 * router left by an aborted run kept answering ARP for the elastic IPs the next run allocated
 * from the same pool, and the next run's NAT traffic went to it.
 */
const TEST_OWNER = /^nimbus-t(\d+)-[0-9a-f]+$/;
const NB_SOCKET = '/var/run/ovn/ovnnb_db.sock';
const OWNED_TABLES = ['logical_router', 'logical_switch', 'port_group', 'dhcp_options'];

export function testOvnOwner(databaseName: string): string {
  const hash = createHash('sha256').update(databaseName).digest('hex').slice(0, 10);
  return `nimbus-t${process.pid}-${hash}`;
}

export function ovnReachable(): boolean {
  return existsSync(NB_SOCKET);
}

/** Removes everything `owner` made in OVN and on the host's bridges. */
export async function removeOvnOwner(owner: string): Promise<void> {
  await new OvnNetworkFabric(installationFabricOptions(owner)).removeEverythingOwned();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownersIn(table: string): Promise<string[]> {
  const { stdout } = await execCommand('ovn-nbctl', [
    '--timeout=10',
    '--bare',
    '--columns=external_ids',
    'list',
    table,
  ]);
  return [...stdout.matchAll(/nimbus_owner=("?)([A-Za-z0-9-]+)\1/g)].map((m) => m[2]);
}

/** Owners of test apps whose process has ended: what a killed run left behind. */
export async function removeDeadTestOwners(): Promise<string[]> {
  if (!ovnReachable()) return [];
  const owners = new Set<string>();
  for (const table of OWNED_TABLES) {
    for (const owner of await ownersIn(table)) owners.add(owner);
  }
  const dead = [...owners].filter((owner) => {
    const match = TEST_OWNER.exec(owner);
    return match !== null && !alive(Number(match[1]));
  });
  for (const owner of dead) await removeOvnOwner(owner);
  return dead;
}
