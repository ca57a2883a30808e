/**
 * NICs of machines that other contexts run in a tenant's VPC without being instances (the nodes
 * of a Kubernetes cluster): the same NIC an instance gets (an address of the subnet, held by the
 * NIC's id; a logical switch port with port security; membership of the VPC's `default` security
 * group; a veth plugged into the machine's network namespace), with the subnet named by the
 * caller, which keeps it, instead of read from an instance's stream.
 *
 * Every call is idempotent: a step repeated after a crash converges. The NIC id is a UUID the
 * caller derives from what the machine is, so it is the same again for the same machine.
 */
import type { CommandContext } from '../../kernel/command-context';
import type { NicAttachment } from './instance-network';
import type { NetnsRef } from './network-fabric';

export const MACHINE_NICS = Symbol('MACHINE_NICS');

export interface MachineNic {
  nicId: string;
  tenantId: string;
  subnetId: string;
}

export interface MachineNics {
  /** Its address (the same one again), logical port and default group, realized. */
  attach(nic: MachineNic, ctx: CommandContext): Promise<NicAttachment>;
  /** Veth, address and default route in `netns`. */
  plug(nic: MachineNic, netns: NetnsRef): Promise<void>;
  /** Veth, memberships, logical port and address gone; a NIC already gone is a no-op. */
  detach(nic: MachineNic, ctx: CommandContext): Promise<void>;
}
