/**
 * What the networking context offers instances (published for compute's launch handler, its
 * launch saga and its termination): where a launch goes, and the instance's NIC.
 *
 * A NIC is named by its instance's id: the address it holds in its subnet's stream, the logical
 * switch port (address and port security), its memberships in security groups, and on this host
 * a veth plugged into the instance's network namespace. Every call is idempotent, so a saga step
 * re-run after a crash converges.
 */
import type { CommandContext } from '../../kernel/command-context';
import type { NetnsRef } from './network-fabric';

export const INSTANCE_NETWORK = Symbol('INSTANCE_NETWORK');

export interface PlacementRequest {
  tenantId: string;
  vpcId: string | null;
  subnetId: string | null;
}

export interface Placement {
  vpcId: string;
  subnetId: string;
}

export interface NicRequest {
  instanceId: string;
  tenantId: string;
  subnetId: string;
}

/** An instance's NIC as the fabric carries it. */
export interface NicAttachment {
  instanceId: string;
  vpcId: string;
  subnetId: string;
  privateIp: string;
  prefixLength: number;
  gatewayIp: string;
  /** The security groups it is a member of. */
  securityGroupIds: string[];
}

export interface InstanceNetwork {
  /**
   * Where a launch goes: the subnet named (its VPC), the first subnet of the VPC named, or,
   * naming neither, the default subnet of the tenant's default VPC, created on first use. A VPC or
   * subnet the tenant cannot see is 404 `not_found`; a subnet outside the VPC named, or a VPC
   * without a subnet, is 409 `invalid_state`. Nothing is allocated here.
   */
  place(request: PlacementRequest, ctx: CommandContext): Promise<Placement>;

  /**
   * The instance's NIC: an address allocated in the subnet (the same one again for the same
   * instance), its logical port with port security, membership of the VPC's `default` group,
   * realized on the fabric before it returns.
   */
  attach(request: NicRequest, ctx: CommandContext): Promise<NicAttachment>;

  /** Plugs the NIC into a namespace (the instance's container): veth, address, default route. */
  plug(instanceId: string, netns: NetnsRef): Promise<void>;

  /**
   * Undoes everything of the NIC: its elastic IP disassociated, its veth unplugged, its group
   * memberships and logical port removed, its address released. A NIC already gone is a no-op.
   */
  detach(instanceId: string, tenantId: string, ctx: CommandContext): Promise<void>;
}
