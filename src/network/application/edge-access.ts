import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

import { instanceDecider, type InstanceState } from '../../compute/domain';
import { AppError } from '../../common/errors/app-error';
import { isUuid } from '../../common/ids';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import { PG_POOL } from '../../platform/tokens';
import {
  EXTERNAL_POOL_ID,
  addressOf,
  elasticIpDecider,
  internetGatewayDecider,
  publicAddressPoolDecider,
  vpcDecider,
  vpcPeeringDecider,
  vpcPeeringVisibleTo,
  vpcVisibleTo,
  type AddressHolder,
  type ElasticIpState,
  type InternetGatewayState,
  type VpcPeeringState,
  type VpcState,
} from '../domain';
import { NETWORK_OPTIONS, type NetworkOptions } from './network-options';
import { Clock } from '../../platform/clock';
import { derivedContext } from '../../platform/commands/system-context';

/** The platform's sub-command context, re-exported for this context's use cases. */
export { derivedContext };

/** Serialises work per key inside this process (one VPC's gateway attachment). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/**
 * What the internet gateway, elastic IP, NAT gateway and peering use cases share: loading a
 * resource the caller owns (another tenant's is 404, checked before anything else), the public
 * address pool, and the read-model look-ups their deciders take as input.
 */
@Injectable()
export class EdgeAccess {
  /** One gateway attachment at a time per VPC in this process. */
  readonly vpcLocks = new KeyedLock();
  /** One association change at a time per elastic IP in this process. */
  readonly eipLocks = new KeyedLock();

  constructor(
    private readonly executor: CommandExecutor,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(NETWORK_OPTIONS) readonly options: NetworkOptions,
    private readonly clock: Clock,
  ) {}

  async ownedInternetGateway(igwId: string, tenantId: string): Promise<InternetGatewayState> {
    if (!isUuid(igwId)) throw AppError.notFound('internet_gateway', igwId);
    const { state } = await this.executor.load(internetGatewayDecider, igwId);
    if (state.tenantId !== tenantId || state.status === 'none' || state.status === 'deleted') {
      throw AppError.notFound('internet_gateway', igwId);
    }
    return state;
  }

  async ownedElasticIp(eipId: string, tenantId: string): Promise<ElasticIpState> {
    if (!isUuid(eipId)) throw AppError.notFound('elastic_ip', eipId);
    const { state } = await this.executor.load(elasticIpDecider, eipId);
    if (state.tenantId !== tenantId || state.status === 'none' || state.status === 'released') {
      throw AppError.notFound('elastic_ip', eipId);
    }
    return state;
  }

  /** A peering the tenant is a side of (requester or accepter); anyone else gets 404. */
  async visiblePeering(peeringId: string, tenantId: string): Promise<VpcPeeringState> {
    if (!isUuid(peeringId)) throw AppError.notFound('vpc_peering', peeringId);
    const { state } = await this.executor.load(vpcPeeringDecider, peeringId);
    if (!vpcPeeringVisibleTo(state, tenantId) || state.status === 'deleted') {
      throw AppError.notFound('vpc_peering', peeringId);
    }
    return state;
  }

  async ownedVpc(vpcId: string, tenantId: string, path = 'vpc_id'): Promise<VpcState> {
    if (!isUuid(vpcId)) throw AppError.notFound('vpc', vpcId);
    const { state } = await this.executor.load(vpcDecider, vpcId);
    if (!vpcVisibleTo(state, tenantId)) {
      throw new AppError('not_found', `vpc ${vpcId} not found`, {
        resource: 'vpc',
        id: vpcId,
        path,
      });
    }
    return state;
  }

  async ownedInstance(instanceId: string, tenantId: string): Promise<InstanceState> {
    if (!isUuid(instanceId)) throw AppError.notFound('instance', instanceId);
    const { state } = await this.executor.load(instanceDecider, instanceId);
    if (state.status === 'NONE' || state.status === 'TERMINATED' || state.tenantId !== tenantId) {
      throw AppError.notFound('instance', instanceId);
    }
    return state;
  }

  /** The address the holder has in the pool, reserving the lowest free one if it has none. */
  async reservePublicAddress(holder: AddressHolder, ctx: CommandContext): Promise<string> {
    const result = await this.executor.execute(
      publicAddressPoolDecider,
      EXTERNAL_POOL_ID,
      { type: 'ReservePublicAddress', holder, poolCidr: this.options.eipPool, now: ctx.now },
      derivedContext(ctx, `reserve_address/${holder.kind}/${holder.id}`),
      30,
    );
    const address = addressOf(result.state, holder);
    if (address === null)
      throw new Error(`no address was reserved for ${holder.kind} ${holder.id}`);
    return address;
  }

  async releasePublicAddress(holder: AddressHolder, ctx: CommandContext): Promise<void> {
    await this.executor.execute(
      publicAddressPoolDecider,
      EXTERNAL_POOL_ID,
      { type: 'ReleasePublicAddress', holder, now: this.clock.now() },
      derivedContext(ctx, `release_address/${holder.kind}/${holder.id}`),
      30,
    );
  }

  /** The internet gateway attached to the VPC, as the read model knows it. */
  async attachedGatewayOf(vpcId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM network_internet_gateways WHERE vpc_id = $1 AND status = 'attached' ORDER BY updated_at LIMIT 1",
      [vpcId],
    );
    return rows[0]?.id ?? null;
  }

  /** Ids of the routes (in any route table) whose target is this gateway, NAT gateway or peering. */
  async routesTargeting(
    targetType: 'igw' | 'nat' | 'peering',
    targetId: string,
  ): Promise<string[]> {
    const { rows } = await this.pool.query<{ route_id: string }>(
      'SELECT route_id FROM network_route_targets WHERE target_type = $1 AND target_id = $2 ORDER BY route_id',
      [targetType, targetId],
    );
    return rows.map((r) => r.route_id);
  }

  /** Elastic IPs associated (with instances or NAT gateways) inside the VPC. */
  async elasticIpsInVpc(vpcId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM network_elastic_ips WHERE vpc_id = $1 AND status = 'associated' ORDER BY id",
      [vpcId],
    );
    return rows.map((r) => r.id);
  }

  /** Pending, provisioning or active peerings of two VPCs, in either direction. */
  async livePeeringsOf(vpcA: string, vpcB: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM network_vpc_peerings
       WHERE ((requester_vpc_id = $1 AND accepter_vpc_id = $2)
           OR (requester_vpc_id = $2 AND accepter_vpc_id = $1))
         AND status IN ('pending-acceptance', 'provisioning', 'active') ORDER BY id`,
      [vpcA, vpcB],
    );
    return rows.map((r) => r.id);
  }

  /** The live elastic IP associated with a target (an instance or a NAT gateway), if any. */
  async elasticIpOf(targetId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM network_elastic_ips WHERE target_id = $1 AND status = 'associated' LIMIT 1",
      [targetId],
    );
    return rows[0]?.id ?? null;
  }
}
