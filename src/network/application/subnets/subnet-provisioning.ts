import { Injectable } from '@nestjs/common';
import { SUBNETS_PROJECTION, ROUTE_TABLES_PROJECTION } from '../../../../projections/network';
import type { CommandContext } from '../../../kernel/command-context';
import type { Position } from '../../../kernel/position';
import {
  initialSubnetState,
  routeTableDecider,
  subnetDecider,
  switchSpecOf,
  type CreateSubnet as CreateSubnetDecision,
  type SubnetState,
  type VpcState,
} from '../../domain';
import { NetworkQueries } from '../network-queries';
import { derivedContext, NetworkOperations } from '../network-operations';

export interface NewSubnet {
  subnetId: string;
  name: string;
  cidrBlock: string;
  availabilityZone: string;
}

/**
 * Creating and deleting a subnet. On the fabric: a switch with a port on the VPC's router (the
 * subnet's gateway address), DHCP options, and the router port routed by the VPC's main route
 * table until the subnet is associated with another. Callers hold the VPC's lock.
 */
@Injectable()
export class SubnetProvisioning {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly queries: NetworkQueries,
  ) {}

  async create(
    vpc: VpcState,
    spec: NewSubnet,
    ctx: CommandContext,
  ): Promise<{ position: Position | null; realizedMs: number }> {
    const vpcId = vpc.vpcId as string;
    const tenantId = vpc.tenantId as string;
    const existing = await this.ops.executor.load(subnetDecider, spec.subnetId);
    if (existing.exists) return { position: null, realizedMs: 0 };
    const siblings = (await this.queries.liveSubnetsOf(vpcId)).map(({ subnetId, cidrBlock }) => ({
      subnetId,
      cidrBlock,
    }));
    const command: CreateSubnetDecision = {
      type: 'CreateSubnet',
      subnetId: spec.subnetId,
      tenantId,
      vpc: { vpcId, cidrBlock: vpc.cidrBlock as string },
      siblings,
      name: spec.name,
      cidrBlock: spec.cidrBlock,
      availabilityZone: spec.availabilityZone,
      now: ctx.now,
    };
    // 400 (block outside the VPC, bad prefix) and 409 (overlap) before any effect.
    const [created] = subnetDecider.decide(command, initialSubnetState());
    if (created.type !== 'SubnetCreated') throw new Error('CreateSubnet decided no SubnetCreated');
    const fabric = this.ops.fabric;
    const { realizedMs } = await this.ops.applyToFabric('create the subnet', async () => {
      await fabric.ensureSwitch(
        switchSpecOf({
          subnetId: spec.subnetId,
          vpcId,
          tenantId,
          cidrBlock: created.data.cidrBlock,
          gatewayIp: created.data.gatewayIp,
        }),
      );
      await fabric.setSubnetRouteTable(spec.subnetId, vpc.mainRouteTableId);
    });
    let position: Position | null;
    try {
      position = await this.ops.appendNew(subnetDecider, spec.subnetId, command, ctx);
    } catch (error) {
      await this.ops.undoOnFabric(`subnet ${spec.subnetId}`, () =>
        fabric.removeSwitch(spec.subnetId),
      );
      throw error;
    }
    await this.ops.readable(position, [SUBNETS_PROJECTION]);
    return { position, realizedMs };
  }

  /**
   * Deletes the subnet: 409 dependency_violation while instances hold addresses in it. Its
   * association with a route table goes with it (as in AWS).
   */
  async delete(subnet: SubnetState, ctx: CommandContext): Promise<Position | null> {
    const subnetId = subnet.subnetId as string;
    const natGateways = await this.queries.liveIdsIn(
      'network_nat_gateways',
      subnetId,
      "status IN ('pending', 'active', 'deleting')",
      'subnet_id = $1',
    );
    // Addresses are held by instances' NICs and by NAT gateways.
    const instances = Object.keys(subnet.allocations).filter((id) => !natGateways.includes(id));
    const command = {
      type: 'DeleteSubnet' as const,
      dependents: { instances, nat_gateways: natGateways },
      now: ctx.now,
    };
    subnetDecider.decide(command, subnet);
    const fabric = this.ops.fabric;
    await this.ops.applyToFabric('delete the subnet', () => fabric.removeSwitch(subnetId));
    let position: Position | null;
    try {
      position = (await this.ops.executor.execute(subnetDecider, subnetId, command, ctx)).position;
    } catch (error) {
      await this.ops.undoOnFabric(`subnet ${subnetId}`, () =>
        fabric.ensureSwitch(switchSpecOf(subnet)),
      );
      throw error;
    }
    const tableId = await this.queries.routeTableAssociatedWith(subnetId);
    if (tableId !== null) {
      const result = await this.ops.executor.execute(
        routeTableDecider,
        tableId,
        { type: 'DisassociateSubnet', subnetId, now: ctx.now },
        derivedContext(ctx, 'disassociate'),
      );
      position = result.position ?? position;
      await this.ops.readable(position, [SUBNETS_PROJECTION, ROUTE_TABLES_PROJECTION]);
      return position;
    }
    await this.ops.readable(position, [SUBNETS_PROJECTION]);
    return position;
  }
}
