import { Injectable, Logger } from '@nestjs/common';
import { instanceDecider } from '../../../compute/domain';
import { AppError } from '../../../common/errors/app-error';
import { isUuid } from '../../../common/ids';
import type { CommandContext } from '../../../kernel/command-context';
import {
  cidrOf,
  DEFAULT_AVAILABILITY_ZONE,
  DEFAULT_SUBNET_BLOCK,
  DEFAULT_SUBNET_NAME,
  DEFAULT_VPC_BLOCK,
  DEFAULT_VPC_NAME,
  defaultVpcIdsOf,
  elasticIpDecider,
  nicSpecOf,
  notFound,
  securityGroupDecider,
  subnetDecider,
  vpcDecider,
  type SubnetState,
} from '../../domain';
import type { MachineNic, MachineNics } from '../../ports/machine-nics';
import type { NetnsRef } from '../../ports/network-fabric';
import type {
  InstanceNetwork,
  NicAttachment,
  NicRequest,
  Placement,
  PlacementRequest,
} from '../../ports/instance-network';
import { EdgeAccess } from '../edge-access';
import { NetworkQueries } from '../network-queries';
import { derivedContext, NetworkOperations } from '../network-operations';
import { SubnetProvisioning } from '../subnets/subnet-provisioning';
import { newVpcIds, VpcProvisioning } from '../vpcs/vpc-provisioning';

/** Appends to a subnet's stream race with other launches: the loser re-decides, a few times. */
const ADDRESS_ATTEMPTS = 30;

/**
 * The NICs of instances (the `InstanceNetwork` port): placement of a launch, the NIC's address,
 * logical port and group memberships, its veth on this host, and their undoing.
 *
 * Attach: the address first (appended to the subnet's stream, so concurrent launches never get
 * the same one), then the logical port and the default group's membership on the fabric
 * (realized), then the membership recorded. Detach runs the same steps backwards. Both are
 * idempotent: every fabric call is, the address is named by the instance, and recording a
 * membership that is already there appends nothing.
 */
@Injectable()
export class InstanceNics implements InstanceNetwork {
  private readonly logger = new Logger('network');

  constructor(
    private readonly ops: NetworkOperations,
    private readonly queries: NetworkQueries,
    private readonly edge: EdgeAccess,
    private readonly vpcs: VpcProvisioning,
    private readonly subnets: SubnetProvisioning,
  ) {}

  async place(request: PlacementRequest, ctx: CommandContext): Promise<Placement> {
    const { tenantId, vpcId, subnetId } = request;
    if (subnetId !== null) {
      if (!isUuid(subnetId)) throw notFound('subnet', subnetId);
      const subnet = await this.ops.visibleSubnet(tenantId, subnetId);
      if (vpcId !== null) {
        if (!isUuid(vpcId)) throw notFound('vpc', vpcId);
        await this.ops.visibleVpc(tenantId, vpcId);
        if (subnet.vpcId !== vpcId) {
          throw AppError.validation(`subnet ${subnetId} is not in VPC ${vpcId}`, [
            { path: 'subnet_id', message: `is in VPC ${subnet.vpcId}, not in ${vpcId}` },
          ]);
        }
      }
      return { vpcId: subnet.vpcId as string, subnetId };
    }
    if (vpcId !== null) {
      if (!isUuid(vpcId)) throw notFound('vpc', vpcId);
      await this.ops.visibleVpc(tenantId, vpcId);
      const [first] = await this.queries.liveSubnetsOf(vpcId);
      if (!first) {
        throw AppError.invalidState(
          `VPC ${vpcId} has no subnet; create one (POST /vpcs/${vpcId}/subnets) or name a subnet_id`,
          { resource: 'vpc', id: vpcId },
        );
      }
      return { vpcId, subnetId: first.subnetId };
    }
    return this.defaultPlacement(tenantId, ctx);
  }

  /** The default subnet of the tenant's default VPC, both created on first use. */
  private async defaultPlacement(tenantId: string, ctx: CommandContext): Promise<Placement> {
    const ids = defaultVpcIdsOf(tenantId);
    const ready = async () => {
      const [vpc, subnet] = await Promise.all([
        this.ops.executor.load(vpcDecider, ids.vpcId),
        this.ops.executor.load(subnetDecider, ids.subnetId),
      ]);
      if (vpc.state.status === 'deleted' || subnet.state.status === 'deleted') {
        throw AppError.invalidState(
          'the default VPC of this tenant was deleted; name a vpc_id or subnet_id to launch into',
          { resource: 'vpc', id: ids.vpcId },
        );
      }
      return { vpc, subnet };
    };
    const first = await ready();
    if (first.vpc.state.status === 'available' && first.subnet.state.status === 'available') {
      return ids;
    }
    return this.ops.locks.vpc.run(ids.vpcId, async () => {
      const { vpc, subnet } = await ready();
      if (vpc.state.status !== 'available') {
        const { vpcId: _derived, ...owned } = newVpcIds(`default/${tenantId}`);
        await this.vpcs.create(
          {
            ...owned,
            vpcId: ids.vpcId,
            tenantId,
            name: DEFAULT_VPC_NAME,
            cidrBlock: DEFAULT_VPC_BLOCK,
          },
          derivedContext(ctx, 'default-vpc'),
        );
      }
      if (subnet.state.status !== 'available') {
        const created = await this.ops.visibleVpc(tenantId, ids.vpcId);
        await this.subnets.create(
          created,
          {
            subnetId: ids.subnetId,
            name: DEFAULT_SUBNET_NAME,
            cidrBlock: DEFAULT_SUBNET_BLOCK,
            availabilityZone: DEFAULT_AVAILABILITY_ZONE,
          },
          derivedContext(ctx, 'default-subnet'),
        );
      }
      this.logger.log(`tenant ${tenantId}: default VPC ${ids.vpcId} ready`);
      return ids;
    });
  }

  async attach(request: NicRequest, ctx: CommandContext): Promise<NicAttachment> {
    const { instanceId, tenantId, subnetId } = request;
    const executor = this.ops.executor;
    const { state: subnet } = await executor.load(subnetDecider, subnetId);
    if (subnet.status !== 'available' || subnet.tenantId !== tenantId) {
      throw notFound('subnet', subnetId);
    }
    const allocated = await executor.execute(
      subnetDecider,
      subnetId,
      { type: 'AllocateAddress', holderId: instanceId, requestedIp: null, now: ctx.now },
      derivedContext(ctx, 'allocate_address'),
      ADDRESS_ATTEMPTS,
    );
    const privateIp = allocated.state.allocations[instanceId];
    if (privateIp === undefined) throw new Error(`no address was allocated for ${instanceId}`);
    const vpcId = subnet.vpcId as string;
    const { state: vpc } = await executor.load(vpcDecider, vpcId);
    const groupId = vpc.defaultSecurityGroupId;
    if (vpc.status !== 'available' || groupId === null) throw notFound('vpc', vpcId);

    const fabric = this.ops.fabric;
    await fabric.ensureNic(nicSpecOf(allocated.state, instanceId));
    await fabric.addToSecurityGroup(groupId, instanceId);
    await fabric.waitRealized();
    await executor.execute(
      securityGroupDecider,
      groupId,
      { type: 'AttachSecurityGroup', instanceId, now: ctx.now },
      derivedContext(ctx, `join_group/${groupId}`),
    );
    return {
      instanceId,
      vpcId,
      subnetId,
      privateIp,
      prefixLength: cidrOf(subnet.cidrBlock as string).prefixLength,
      gatewayIp: subnet.gatewayIp as string,
      securityGroupIds: [groupId],
    };
  }

  async plug(instanceId: string, netns: NetnsRef): Promise<void> {
    const { subnet, ip } = await this.nicOf(instanceId);
    if (subnet === null || ip === null) {
      throw new Error(`instance ${instanceId} holds no address in a subnet; nothing to plug`);
    }
    await this.plugInto(subnet, instanceId, ip, netns);
  }

  private async plugInto(
    subnet: SubnetState,
    nicId: string,
    ip: string,
    netns: NetnsRef,
  ): Promise<void> {
    try {
      await this.ops.fabric.plugNic({
        nicId,
        ip,
        prefixLength: cidrOf(subnet.cidrBlock as string).prefixLength,
        gatewayIp: subnet.gatewayIp as string,
        netns,
      });
    } catch (error) {
      // Plugging is idempotent: a retry of the request (or the reconcile) finishes it.
      this.logger.warn(`plugging NIC ${nicId} failed: ${String(error)}`);
      throw new AppError(
        'service_unavailable',
        `the network fabric could not plug NIC ${nicId}; retry later`,
        { fabric: this.ops.fabric.kind },
      );
    }
  }

  async detach(instanceId: string, tenantId: string, ctx: CommandContext): Promise<void> {
    await this.disassociateElasticIp(instanceId, ctx);
    const { subnet } = await this.nicOf(instanceId);
    await this.detachFrom(subnet, instanceId, tenantId, ctx);
  }

  /** Unplugged, out of its groups, port removed, address released (of `subnet` when known). */
  private async detachFrom(
    subnet: SubnetState | null,
    nicId: string,
    tenantId: string,
    ctx: CommandContext,
  ): Promise<void> {
    const fabric = this.ops.fabric;
    const groups = new Set(await this.queries.groupsOfInstance(nicId));
    if (subnet !== null && subnet.vpcId !== null) {
      const { state: vpc } = await this.ops.executor.load(vpcDecider, subnet.vpcId);
      if (vpc.defaultSecurityGroupId) groups.add(vpc.defaultSecurityGroupId);
    }
    // A fabric failure is 503 (every call is idempotent: a retry finishes the detach).
    await this.ops.applyToFabric(`detach NIC ${nicId}`, async () => {
      await fabric.unplugNic(nicId);
      for (const groupId of groups) await fabric.removeFromSecurityGroup(groupId, nicId);
      await fabric.removeNic(nicId);
    });
    for (const groupId of groups) {
      await this.ops.executor
        .execute(
          securityGroupDecider,
          groupId,
          { type: 'DetachSecurityGroup', instanceId: nicId, now: ctx.now },
          derivedContext(ctx, `leave_group/${groupId}`),
        )
        .catch(ignoreGone);
    }
    if (subnet !== null && subnet.tenantId === tenantId) {
      await this.ops.executor
        .execute(
          subnetDecider,
          subnet.subnetId as string,
          { type: 'ReleaseAddress', holderId: nicId, now: ctx.now },
          derivedContext(ctx, 'release_address'),
          ADDRESS_ATTEMPTS,
        )
        .catch(ignoreGone);
    }
  }

  /**
   * The same NICs for machines of other contexts (cluster nodes), whose subnet the caller keeps
   * (the `MachineNics` port).
   */
  forMachines(): MachineNics {
    const subnetOf = async (nic: MachineNic): Promise<SubnetState | null> => {
      const { state } = await this.ops.executor.load(subnetDecider, nic.subnetId);
      return state.status === 'available' && state.tenantId === nic.tenantId ? state : null;
    };
    return {
      attach: (nic, ctx) =>
        this.attach({ instanceId: nic.nicId, tenantId: nic.tenantId, subnetId: nic.subnetId }, ctx),
      plug: async (nic, netns) => {
        const subnet = await subnetOf(nic);
        const ip = subnet?.allocations[nic.nicId];
        if (subnet === null || ip === undefined) {
          throw new Error(`NIC ${nic.nicId} holds no address in subnet ${nic.subnetId}`);
        }
        await this.plugInto(subnet, nic.nicId, ip, netns);
      },
      detach: async (nic, ctx) =>
        this.detachFrom(await subnetOf(nic), nic.nicId, nic.tenantId, ctx),
    };
  }

  /**
   * The subnet holding the instance's address, from the instance's own stream (its launch
   * recorded the subnet) rather than a read model, so an attach interrupted before it was
   * recorded is found too.
   */
  private async nicOf(
    instanceId: string,
  ): Promise<{ subnet: SubnetState | null; ip: string | null }> {
    const { state: instance } = await this.ops.executor.load(instanceDecider, instanceId);
    if (!instance.subnetId) return { subnet: null, ip: null };
    const { state: subnet } = await this.ops.executor.load(subnetDecider, instance.subnetId);
    if (subnet.status !== 'available') return { subnet: null, ip: null };
    return { subnet, ip: subnet.allocations[instanceId] ?? null };
  }

  private async disassociateElasticIp(instanceId: string, ctx: CommandContext): Promise<void> {
    const eipId = await this.edge.elasticIpOf(instanceId);
    if (eipId === null) return;
    await this.edge.eipLocks.run(eipId, async () => {
      const { state: eip } = await this.ops.executor.load(elasticIpDecider, eipId);
      const association = eip.association;
      if (association === null || association.target.id !== instanceId) return;
      await this.ops.fabric.removeElasticIp(association.vpcId, eipId);
      await this.ops.fabric.waitRealized();
      await this.ops.executor.execute(
        elasticIpDecider,
        eipId,
        { type: 'DisassociateElasticIp', from: association.target, now: ctx.now },
        derivedContext(ctx, `disassociate_eip/${eipId}`),
      );
      this.logger.log(`elastic IP ${eip.publicIp} disassociated from instance ${instanceId}`);
    });
  }
}

function ignoreGone(error: unknown): void {
  if (error instanceof AppError && error.code === 'not_found') return;
  throw error;
}
