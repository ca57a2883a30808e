import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { KeyedMutex } from '../../common/keyed-mutex';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import type { Decider, DomainEvent } from '../../kernel/decider';
import type { Position } from '../../kernel/position';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import {
  notFound,
  routeTableDecider,
  securityGroupSpecOf,
  securityRuleSpec,
  securityGroupDecider,
  subnetDecider,
  vpcDecider,
  type RouteTableState,
  type SecurityGroupState,
  type SubnetState,
  type VpcState,
} from '../domain';
import { NETWORK_FABRIC, type NetworkFabric } from '../ports/network-fabric';
import { derivedContext } from '../../platform/commands/system-context';

/** The platform's sub-command context, re-exported for this context's use cases. */
export { derivedContext };

/**
 * Serialises, per VPC and inside one process, the commands that read the VPC's other resources
 * from the read models before deciding (a subnet's siblings, a VPC's dependents, a group's
 * name): each holder waits for its own write to be readable before letting the next one read.
 * Other processes are not covered (one API process per installation today).
 */
@Injectable()
export class NetworkLocks {
  readonly vpc = new KeyedMutex();
}

/**
 * What the networking use cases share: loading a tenant's resource from its stream (another
 * tenant's, or a deleted one, is 404), appending, and driving the fabric.
 *
 * Fabric and log, in that order: a create applies its objects to the fabric (idempotently, named
 * by the resource's id) and waits until OVN has realized them, then appends; a delete removes them
 * first, then appends. A fabric failure is 503 `service_unavailable` with nothing appended; an
 * append refused after the effect (a concurrent change) undoes the effect. So the log never
 * records a network the fabric does not carry; a crash between the two leaves the fabric ahead
 * of the log by objects named after an id no event holds, which a retry with the same
 * Idempotency-Key converges.
 */
@Injectable()
export class NetworkOperations {
  private readonly logger = new Logger('network');

  constructor(
    readonly executor: CommandExecutor,
    readonly locks: NetworkLocks,
    @Inject(NETWORK_FABRIC) readonly fabric: NetworkFabric,
    private readonly waiter: ProjectionWaiter,
  ) {}

  async visibleVpc(tenantId: string, vpcId: string): Promise<VpcState> {
    const { state } = await this.executor.load(vpcDecider, vpcId);
    if (state.status !== 'available' || state.tenantId !== tenantId) throw notFound('vpc', vpcId);
    return state;
  }

  async visibleSubnet(tenantId: string, subnetId: string): Promise<SubnetState> {
    const { state } = await this.executor.load(subnetDecider, subnetId);
    if (state.status !== 'available' || state.tenantId !== tenantId) {
      throw notFound('subnet', subnetId);
    }
    return state;
  }

  async visibleSecurityGroup(tenantId: string, groupId: string): Promise<SecurityGroupState> {
    const { state } = await this.executor.load(securityGroupDecider, groupId);
    if (state.status !== 'available' || state.tenantId !== tenantId) {
      throw notFound('security_group', groupId);
    }
    return state;
  }

  async visibleRouteTable(tenantId: string, routeTableId: string): Promise<RouteTableState> {
    const { state } = await this.executor.load(routeTableDecider, routeTableId);
    if (state.status !== 'available' || state.tenantId !== tenantId) {
      throw notFound('route_table', routeTableId);
    }
    return state;
  }

  /**
   * Appends a creation under an id derived from the command id. The stream existing already
   * means this very command got there first (a retry): nothing more to append.
   */
  async appendNew<C, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    id: string,
    command: C,
    ctx: CommandContext,
  ): Promise<Position | null> {
    try {
      const result = await this.executor.execute(decider, id, command, ctx, { expectNew: true });
      return result.position;
    } catch (error) {
      if (error instanceof AppError && error.code === 'conflict') {
        const { exists } = await this.executor.load(decider, id);
        if (exists) return null;
      }
      throw error;
    }
  }

  /**
   * Runs fabric calls, then waits until the host has installed them. Any failure is 503: the
   * caller has appended nothing yet.
   */
  async applyToFabric(what: string, calls: () => Promise<void>): Promise<{ realizedMs: number }> {
    try {
      await calls();
      const { ms } = await this.fabric.waitRealized();
      return { realizedMs: ms };
    } catch (error) {
      if (error instanceof AppError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn(`network fabric failed to ${what}: ${message}`);
      throw new AppError(
        'service_unavailable',
        `the network fabric could not ${what}; nothing was recorded, retry later`,
        { fabric: this.fabric.kind },
      );
    }
  }

  /** Best-effort undo of a fabric effect whose append was refused (logged, never thrown). */
  async undoOnFabric(what: string, calls: () => Promise<void>): Promise<void> {
    try {
      await calls();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error(`network fabric: could not undo (${what}): ${message}`);
    }
  }

  /** Waits until the named read models have `position` (inside a VPC lock, before releasing it). */
  async readable(position: Position | null, projections: readonly string[]): Promise<void> {
    if (position === null) return;
    await this.waiter.waitFor(position, projections, this.waiter.readYourWritesTimeoutMs);
  }
}

/** A security group rule as the fabric takes it (the domain's builder, re-exported). */
export { securityRuleSpec };

/** A group's port group and every rule of it, ensured on the fabric. */
export async function ensureGroupOnFabric(
  fabric: NetworkFabric,
  group: SecurityGroupState,
): Promise<void> {
  const groupId = group.groupId as string;
  await fabric.ensureSecurityGroup(securityGroupSpecOf(group));
  for (const rule of group.rules) await fabric.ensureSecurityRule(securityRuleSpec(groupId, rule));
}
