import { performance } from 'node:perf_hooks';

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Pool } from 'pg';

import { EDGE_PROJECTIONS } from '../../../projections/network/edge.projections';
import { NETWORK_PROJECTIONS } from '../../../projections/network/network.projections';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import { EVENT_STORE, type EventStore } from '../../eventstore/event-store';
import {
  ReadinessCheckProvider,
  type ReadinessCheck,
  type ReadinessResult,
} from '../../health/readiness';
import { PG_POOL } from '../../platform/tokens';
import {
  EXTERNAL_POOL_ID,
  addressOf,
  elasticIpSpecOf,
  gatewaySpecOf,
  natGatewaySpecOf,
  nicSpecOf,
  peeringSpecOf,
  publicAddressPoolDecider,
  routerSpecOf,
  securityGroupSpecOf,
  securityRuleSpec,
  staticRouteSpecOf,
  switchSpecOf,
  type ElasticIpState,
  type InternetGatewayState,
  type NatGatewayState,
  type RouteTableState,
  type SecurityGroupState,
  type SubnetState,
  type VpcPeeringState,
  type VpcState,
} from '../domain';
import { NETWORK_FABRIC, type FabricInventory, type NetworkFabric } from '../ports/network-fabric';
import { NETWORK_OPTIONS, type NetworkOptions } from './network-options';
import { RouteTargets } from './route-tables/route-targets';

/** How long start-up waits for the first reconcile before listening anyway (readiness says so). */
const START_UP_RECONCILE_WAIT_MS = 20_000;
/** How long the reconcile waits for the network read models to reach the log's head. */
const READ_MODELS_WAIT_MS = 15_000;
/** Orphans named in the log line, at most. */
const ORPHANS_NAMED = 20;

/** The kinds of fabric objects the reconcile ensures, in the order it ensures them. */
export const RECONCILED_KINDS = [
  'routers',
  'switches',
  'securityGroups',
  'securityRules',
  'nics',
  'memberships',
  'gateways',
  'elasticIps',
  'natGateways',
  'peerings',
  'routes',
  'routeTableBindings',
] as const;

export type ReconciledKind = (typeof RECONCILED_KINDS)[number];

export interface NetworkReconcileReport {
  /** Objects ensured (every call that succeeded), in total and by kind. */
  ensured: number;
  byKind: Record<ReconciledKind, number>;
  /** What could not be ensured: `<kind> <id>: <reason>`. */
  failures: string[];
  /** Left out on purpose: routes to a target that is no longer live, memberships of no NIC. */
  skipped: string[];
  /** Fabric objects of this installation that no read model holds (logged, never deleted). */
  orphans: string[];
  /** Wall time of the whole reconcile, and of its final `waitRealized()`. */
  ms: number;
  realizedMs: number;
  /** Whether the read models had reached the log's head when they were read. */
  readModelsCaughtUp: boolean;
}

export interface DesiredNetwork {
  vpcs: VpcState[];
  subnets: SubnetState[];
  groups: SecurityGroupState[];
  tables: RouteTableState[];
  gateways: InternetGatewayState[];
  elasticIps: ElasticIpState[];
  natGateways: NatGatewayState[];
  peerings: VpcPeeringState[];
}

/**
 * Start-up reconcile of the network fabric with the read models: after a host restart, a lost
 * OVN northbound database or an OVN upgrade that dropped state, everything the read models say
 * exists is ensured again, in dependency order (routers, switches with their router ports and
 * DHCP, security groups with their rules, NICs and memberships, gateway ports, elastic IPs, NAT
 * gateways, peerings, routes, and each subnet's route table), then realized.
 *
 * Additive only: a fabric object no read model holds is logged as an orphan, never deleted (a
 * request in flight writes the fabric before it appends; the retry with its Idempotency-Key
 * converges). Every `ensure*` is idempotent, so a reconcile of an intact fabric changes nothing.
 * The veths of running containers are compute's: it plugs them again at its start-up.
 */
@Injectable()
@ReadinessCheckProvider()
export class NetworkReconciler implements OnApplicationBootstrap, OnModuleDestroy, ReadinessCheck {
  readonly name = 'network';
  private readonly logger = new Logger('network');
  private state: 'pending' | 'done' | 'degraded' = 'pending';
  private detail = 'the start-up reconcile has not run yet';
  private running: Promise<NetworkReconcileReport> | null = null;
  private startUp: Promise<unknown> | null = null;

  constructor(
    @Inject(NETWORK_FABRIC) private readonly fabric: NetworkFabric,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(NETWORK_OPTIONS) private readonly options: NetworkOptions,
    private readonly executor: CommandExecutor,
    private readonly waiter: ProjectionWaiter,
    private readonly targets: RouteTargets,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const startUp = this.reconcileAll().catch(() => undefined);
    this.startUp = startUp;
    // A large network or a slow OVN lets start-up go on after a bound (readiness PENDING).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      startUp,
      new Promise((resolve) => {
        timer = setTimeout(resolve, START_UP_RECONCILE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  async onModuleDestroy(): Promise<void> {
    await this.startUp;
  }

  check(): Promise<ReadinessResult> {
    return Promise.resolve({
      status: this.state === 'done' ? 'RECONCILED' : this.state.toUpperCase(),
      ok: this.state === 'done',
      detail: this.detail,
    });
  }

  /** Ensures everything the read models hold; one run at a time (a second call joins it). */
  reconcileAll(): Promise<NetworkReconcileReport> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<NetworkReconcileReport> {
    const started = performance.now();
    try {
      const readModelsCaughtUp = await this.readModelsCaughtUp();
      const desired = await this.desired();
      const report = await this.ensure(desired);
      report.readModelsCaughtUp = readModelsCaughtUp;
      report.realizedMs = (await this.fabric.waitRealized()).ms;
      report.orphans = orphansOf(await this.fabric.inventory(), desired);
      report.ms = Math.round(performance.now() - started);
      this.record(report);
      return report;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.state = 'degraded';
      this.detail = `network reconcile failed: ${message}`;
      this.logger.error(this.detail);
      throw error;
    }
  }

  private record(report: NetworkReconcileReport): void {
    const kinds = RECONCILED_KINDS.map((kind) => `${kind} ${report.byKind[kind]}`).join(', ');
    this.logger.log(
      `network reconcile: ${report.ensured} objects ensured in ${report.ms} ms (${kinds}; realized in ${report.realizedMs} ms; fabric ${this.fabric.kind})`,
    );
    if (!report.readModelsCaughtUp) {
      this.logger.warn('network reconcile: the read models had not reached the log head');
    }
    for (const skipped of report.skipped) this.logger.log(`network reconcile: skipped ${skipped}`);
    if (report.orphans.length > 0) {
      const named = report.orphans.slice(0, ORPHANS_NAMED).join(', ');
      const more = report.orphans.length > ORPHANS_NAMED ? ', ...' : '';
      this.logger.warn(
        `network reconcile: ${report.orphans.length} fabric object(s) no read model holds, left in place: ${named}${more}`,
      );
    }
    for (const failure of report.failures) this.logger.error(`network reconcile: ${failure}`);
    const summary = `${report.ensured} objects ensured in ${report.ms} ms, ${report.failures.length} failure(s), ${report.orphans.length} orphan(s); fabric ${this.fabric.kind}`;
    if (report.failures.length === 0 && report.readModelsCaughtUp) {
      this.state = 'done';
      this.detail = `start-up reconcile done: ${summary}`;
    } else {
      this.state = 'degraded';
      this.detail = `start-up reconcile incomplete: ${summary}${report.readModelsCaughtUp ? '' : '; read models behind the log'}`;
    }
  }

  /** Waits (bounded) for the network read models to reach the log's readable head. */
  private async readModelsCaughtUp(): Promise<boolean> {
    const head = await this.store.headPosition();
    if (head === null) return true;
    const names = [...NETWORK_PROJECTIONS, ...EDGE_PROJECTIONS].map((p) => p.name);
    return this.waiter.waitFor(head, names, READ_MODELS_WAIT_MS);
  }

  private async desired(): Promise<DesiredNetwork> {
    const [vpcs, subnets, groups, tables, gateways, elasticIps, natGateways, peerings] =
      await Promise.all([
        this.states<VpcState>('network_vpcs', "status = 'available'"),
        this.states<SubnetState>('network_subnets', "status = 'available'"),
        this.states<SecurityGroupState>('network_security_groups', "status = 'available'"),
        this.states<RouteTableState>('network_route_tables', "status = 'available'"),
        this.states<InternetGatewayState>('network_internet_gateways', "status = 'attached'"),
        this.states<ElasticIpState>('network_elastic_ips', "status = 'associated'"),
        this.states<NatGatewayState>('network_nat_gateways', "status = 'active'"),
        this.states<VpcPeeringState>('network_vpc_peerings', "status = 'active'"),
      ]);
    return { vpcs, subnets, groups, tables, gateways, elasticIps, natGateways, peerings };
  }

  /** The `state` of a read model's rows meeting `condition` (a constant); none before its table exists. */
  private async states<S>(table: string, condition: string): Promise<S[]> {
    try {
      const { rows } = await this.pool.query<{ state: S }>(
        `SELECT state FROM ${table} WHERE ${condition} ORDER BY created_at, id`,
      );
      return rows.map((row) => row.state);
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') return [];
      throw error;
    }
  }

  private async ensure(desired: DesiredNetwork): Promise<NetworkReconcileReport> {
    const fabric = this.fabric;
    const report: NetworkReconcileReport = {
      ensured: 0,
      byKind: Object.fromEntries(RECONCILED_KINDS.map((kind) => [kind, 0])) as Record<
        ReconciledKind,
        number
      >,
      failures: [],
      skipped: [],
      orphans: [],
      ms: 0,
      realizedMs: 0,
      readModelsCaughtUp: true,
    };
    const attempt = async (kind: ReconciledKind, id: string, call: () => Promise<void>) => {
      try {
        await call();
        report.byKind[kind] += 1;
        report.ensured += 1;
        return true;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        report.failures.push(`${kind} ${id}: ${message}`);
        return false;
      }
    };
    const vpcsById = new Map(desired.vpcs.map((vpc) => [vpc.vpcId as string, vpc]));
    const liveVpcs = new Set<string>();
    for (const vpc of desired.vpcs) {
      const vpcId = vpc.vpcId as string;
      if (await attempt('routers', vpcId, () => fabric.ensureRouter(routerSpecOf(vpc)))) {
        liveVpcs.add(vpcId);
      }
    }
    const subnets = desired.subnets.filter((subnet) => liveVpcs.has(subnet.vpcId as string));
    const liveSubnets = new Set<string>();
    for (const subnet of subnets) {
      const subnetId = subnet.subnetId as string;
      if (await attempt('switches', subnetId, () => fabric.ensureSwitch(switchSpecOf(subnet)))) {
        liveSubnets.add(subnetId);
      }
    }

    const groups = desired.groups.filter((group) => liveVpcs.has(group.vpcId as string));
    for (const group of groups) {
      const groupId = group.groupId as string;
      await attempt('securityGroups', groupId, () =>
        fabric.ensureSecurityGroup(securityGroupSpecOf(group)),
      );
    }
    // Rules after every group: a rule's peer may be another group (its address set).
    for (const group of groups) {
      for (const rule of group.rules) {
        await attempt('securityRules', rule.ruleId, () =>
          fabric.ensureSecurityRule(securityRuleSpec(group.groupId as string, rule)),
        );
      }
    }

    // Addresses are held by instances' NICs and by NAT gateways (which have no port).
    const natHolders = new Set(
      (await this.states<NatGatewayState>('network_nat_gateways', 'true')).map(
        (nat) => nat.natGatewayId as string,
      ),
    );
    const nics = new Set<string>();
    for (const subnet of subnets) {
      if (!liveSubnets.has(subnet.subnetId as string)) continue;
      for (const holderId of Object.keys(subnet.allocations)) {
        if (natHolders.has(holderId)) continue;
        if (await attempt('nics', holderId, () => fabric.ensureNic(nicSpecOf(subnet, holderId)))) {
          nics.add(holderId);
        }
      }
    }
    for (const group of groups) {
      for (const member of group.members) {
        if (!nics.has(member)) {
          report.skipped.push(`membership of ${member} in ${group.groupId}: it has no NIC`);
          continue;
        }
        await attempt('memberships', `${group.groupId}/${member}`, () =>
          fabric.addToSecurityGroup(group.groupId as string, member),
        );
      }
    }

    const pool = (await this.executor.load(publicAddressPoolDecider, EXTERNAL_POOL_ID)).state;
    for (const gateway of desired.gateways) {
      const igwId = gateway.igwId as string;
      const vpcId = gateway.vpcId as string;
      if (!liveVpcs.has(vpcId)) continue;
      await attempt('gateways', igwId, async () => {
        const externalIp = addressOf(pool, { kind: 'internet_gateway', id: igwId });
        if (externalIp === null) throw new Error('the address pool holds no address for it');
        const spec = gatewaySpecOf(
          { igwId, vpcId, tenantId: gateway.tenantId as string },
          externalIp,
          this.options,
        );
        await fabric.attachGateway(spec);
      });
    }
    for (const eip of desired.elasticIps) {
      const spec = elasticIpSpecOf(eip);
      // One held by a NAT gateway is the NAT gateway's snat, ensured below.
      if (spec === null || !liveVpcs.has(spec.vpcId)) continue;
      await attempt('elasticIps', spec.eipId, () => fabric.ensureElasticIp(spec));
    }
    for (const nat of desired.natGateways) {
      const vpc = vpcsById.get(nat.vpcId as string);
      if (!vpc || !liveVpcs.has(vpc.vpcId as string)) continue;
      await attempt('natGateways', nat.natGatewayId as string, async () => {
        if (nat.publicIp === null) throw new Error('the active NAT gateway has no public address');
        await fabric.ensureNatGateway(natGatewaySpecOf(nat, nat.publicIp, vpc.cidrBlock as string));
      });
    }
    for (const peering of desired.peerings) {
      const spec = peeringSpecOf(peering);
      if (!liveVpcs.has(spec.requester.vpcId) || !liveVpcs.has(spec.accepter.vpcId)) continue;
      await attempt('peerings', spec.peeringId, () => fabric.ensurePeering(spec));
    }

    // Routes once their targets (gateway ports, peering links) exist.
    const tables = desired.tables.filter((table) => liveVpcs.has(table.vpcId as string));
    for (const table of tables) {
      const vpcId = table.vpcId as string;
      const routeTableId = table.routeTableId as string;
      for (const route of table.routes) {
        if (route.targetType === 'local' || route.targetId === null) continue;
        try {
          await this.targets.check(vpcId, route.targetType, route.targetId);
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          report.skipped.push(
            `route ${route.routeId} of ${routeTableId}: ${route.targetType} ${route.targetId} is not live`,
          );
          continue;
        }
        await attempt('routes', route.routeId, async () => {
          const target = await this.targets.fabricTarget(vpcId, route);
          await fabric.ensureStaticRoute(staticRouteSpecOf(vpcId, routeTableId, route, target));
        });
      }
    }
    // Each subnet routed by its associated table, or by its VPC's main one.
    const associated = new Map<string, string>();
    for (const table of tables) {
      for (const subnetId of table.subnetIds)
        associated.set(subnetId, table.routeTableId as string);
    }
    for (const subnet of subnets) {
      const subnetId = subnet.subnetId as string;
      if (!liveSubnets.has(subnetId)) continue;
      const tableId =
        associated.get(subnetId) ?? vpcsById.get(subnet.vpcId as string)?.mainRouteTableId ?? null;
      await attempt('routeTableBindings', subnetId, () =>
        fabric.setSubnetRouteTable(subnetId, tableId),
      );
    }
    return report;
  }
}

/** What the fabric holds of this installation that the read models do not: `<kind> <id>`. */
export function orphansOf(inventory: FabricInventory, desired: DesiredNetwork): string[] {
  const ids = <T>(items: T[], id: (item: T) => string | null) =>
    new Set(items.map(id).filter((x): x is string => x !== null));
  const vpcs = ids(desired.vpcs, (v) => v.vpcId);
  const subnets = ids(desired.subnets, (s) => s.subnetId);
  const holders = new Set(desired.subnets.flatMap((s) => Object.keys(s.allocations)));
  const groups = ids(desired.groups, (g) => g.groupId);
  const rules = new Set(desired.groups.flatMap((g) => g.rules.map((r) => r.ruleId)));
  const gateways = ids(desired.gateways, (g) => g.igwId);
  const eips = new Set(
    desired.elasticIps.flatMap((e) => {
      const spec = elasticIpSpecOf(e);
      return spec ? [spec.eipId] : [];
    }),
  );
  const nats = ids(desired.natGateways, (n) => n.natGatewayId);
  const peerings = ids(desired.peerings, (p) => p.peeringId);
  const routes = new Set(desired.tables.flatMap((t) => t.routes.map((r) => r.routeId)));
  const orphans: string[] = [];
  const add = (kind: string, items: string[], known: Set<string>) => {
    for (const id of items) if (!known.has(id)) orphans.push(`${kind} ${id}`);
  };
  add(
    'router',
    inventory.routers.map((r) => r.vpcId),
    vpcs,
  );
  add(
    'switch',
    inventory.switches.map((s) => s.subnetId),
    subnets,
  );
  add(
    'nic',
    inventory.nics.map((n) => n.nicId),
    holders,
  );
  add(
    'security-group',
    inventory.securityGroups.map((g) => g.groupId),
    groups,
  );
  add(
    'security-rule',
    inventory.securityRules.map((r) => r.ruleId),
    rules,
  );
  add(
    'gateway',
    inventory.gateways.map((g) => g.gatewayId),
    gateways,
  );
  add(
    'elastic-ip',
    inventory.elasticIps.map((e) => e.eipId),
    eips,
  );
  add(
    'nat-gateway',
    inventory.natGateways.map((n) => n.natGatewayId),
    nats,
  );
  add(
    'peering',
    inventory.peerings.map((p) => p.peeringId),
    peerings,
  );
  add(
    'route',
    inventory.routes.map((r) => r.routeId),
    routes,
  );
  add(
    'policy',
    inventory.policies.map((p) => p.policyId),
    new Set(),
  );
  add(
    'host-port',
    inventory.hostPorts.map((p) => p.nicId),
    holders,
  );
  return orphans;
}
