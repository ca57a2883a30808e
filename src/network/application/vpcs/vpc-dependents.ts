import { Injectable } from '@nestjs/common';
import { NO_VPC_DEPENDENTS, type VpcDependents, type VpcState } from '../../domain';
import { NetworkQueries } from '../network-queries';

/**
 * Read models of the families that live in a VPC beyond subnets, route tables and security
 * groups (gateways, peerings, clusters): each names its table and what "still live"
 * means there. A family whose read model does not exist yet counts as none.
 */
export const VPC_DEPENDENT_TABLES: ReadonlyArray<{
  kind: keyof VpcDependents;
  table: string;
  /** SQL condition on the table's rows (a constant of the code, never user input). */
  live: string;
  /** How a row names the VPC ($1); default `vpc_id = $1`. */
  inVpc?: string;
}> = [
  { kind: 'internet_gateways', table: 'network_internet_gateways', live: "status = 'attached'" },
  { kind: 'nat_gateways', table: 'network_nat_gateways', live: "status <> 'deleted'" },
  {
    kind: 'vpc_peerings',
    table: 'network_vpc_peerings',
    live: "status IN ('pending-acceptance', 'provisioning', 'active', 'failed', 'deleting')",
    inVpc: '(requester_vpc_id = $1 OR accepter_vpc_id = $1)',
  },
  // Kubernetes clusters (projections/clusters): their nodes are instances of the VPC.
  { kind: 'clusters', table: 'clusters', live: "status <> 'deleted'" },
];

/** What still lives in a VPC, by kind (the 409 dependency_violation names them). */
@Injectable()
export class VpcDependentsReader {
  constructor(private readonly queries: NetworkQueries) {}

  async of(vpc: VpcState): Promise<VpcDependents> {
    const vpcId = vpc.vpcId as string;
    const [subnets, owned] = await Promise.all([
      this.queries.liveSubnetsOf(vpcId),
      this.queries.ownedByVpc(vpcId),
    ]);
    const dependents: Record<keyof VpcDependents, string[]> = {
      ...Object.fromEntries(Object.keys(NO_VPC_DEPENDENTS).map((kind) => [kind, []])),
    } as unknown as Record<keyof VpcDependents, string[]>;
    dependents.subnets = subnets.map((s) => s.subnetId);
    dependents.instances = subnets.flatMap((s) => s.holders);
    dependents.route_tables = owned.routeTables;
    dependents.security_groups = owned.securityGroups;
    for (const { kind, table, live, inVpc } of VPC_DEPENDENT_TABLES) {
      dependents[kind].push(...(await this.queries.liveIdsIn(table, vpcId, live, inVpc)));
    }
    // Subnet addresses are held by instances' NICs and by NAT gateways.
    dependents.instances = dependents.instances.filter(
      (holder) => !dependents.nat_gateways.includes(holder),
    );
    return dependents;
  }
}
