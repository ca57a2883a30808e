/**
 * Machines other contexts make and run in a tenant's VPC (the nodes of a Kubernetes cluster),
 * recorded as instances of the tenant (`managed_by` names the owner): listed by `GET /instances`,
 * audited, on the tenant's timeline, and refused to anyone but their owner (409). The owner makes
 * and removes the machine itself and tells compute here; its usage is the owner's to bill.
 *
 * Both calls are idempotent: the instance id is derived by the owner from the machine, and a
 * registration or removal repeated after a crash appends nothing twice.
 */
import type { RegisterManagedInstance } from '../domain/instance';
import type { CommandContext } from '../../kernel/command-context';

export const MANAGED_INSTANCES = Symbol('MANAGED_INSTANCES');

/** What the owner says of its machine: the registration command without its type and time. */
export type ManagedMachine = Omit<RegisterManagedInstance, 'type' | 'now'>;

export interface ManagedInstances {
  /** Recorded RUNNING with its container and NIC (the same machine again: nothing). */
  register(machine: ManagedMachine, ctx: CommandContext): Promise<void>;
  /** Recorded TERMINATED (one unknown, or already removed: nothing). */
  remove(instanceId: string, ctx: CommandContext): Promise<void>;
}
