import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

import { AppError } from '../../common/errors/app-error';
import {
  afterCreatedKey,
  createdKeyOf,
  fetchSize,
  paginate,
  type CreatedKey,
  type PageEnvelope,
  type PageRequest,
} from '../../common/pagination';
import { PG_POOL } from '../../platform/tokens';
import type {
  ElasticIpState,
  InternetGatewayState,
  NatGatewayState,
  VpcPeeringState,
} from '../domain';
import {
  elasticIpView,
  internetGatewayView,
  natGatewayView,
  vpcPeeringView,
  type ElasticIpView,
  type VpcPeeringView,
  type InternetGatewayView,
  type NatGatewayView,
  type RowTimes,
} from './edge-views';

/** Sort key of list pages: creation time, then id. */

interface StateRow<S> {
  id: string;
  state: S;
  revision: string;
  created_at: Date;
  updated_at: Date;
}

import type { Found } from '../../platform/http/after-write';
export type { Found };

const timesOf = (row: { created_at: Date; updated_at: Date }): RowTimes => ({
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/**
 * Reads of the edge's read models (internet gateways, elastic IPs, NAT gateways, peerings).
 * Another tenant's rows are invisible: a single one is 404, lists leave them out.
 */
@Injectable()
export class EdgeQueries {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  private async one<S, V>(
    sql: string,
    params: unknown[],
    resource: string,
    id: string,
    view: (state: S, times: RowTimes) => V,
  ): Promise<Found<V>> {
    const { rows } = await this.pool.query<StateRow<S>>(sql, params);
    const row = rows[0];
    if (!row) throw AppError.notFound(resource, id);
    return { view: view(row.state, timesOf(row)), revision: row.revision };
  }

  private async page<S, V>(
    table: string,
    where: string,
    params: unknown[],
    page: PageRequest<CreatedKey>,
    view: (state: S, times: RowTimes) => V,
  ): Promise<V[] | PageEnvelope<V>> {
    const clause = where + afterCreatedKey(page, params);
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<StateRow<S>>(
      `SELECT id, state, revision, created_at, updated_at FROM ${table} WHERE ${clause}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, createdKeyOf);
    const toView = (r: StateRow<S>) => view(r.state, timesOf(r));
    return Array.isArray(result)
      ? result.map(toView)
      : { items: result.items.map(toView), page: result.page };
  }

  internetGateway(tenantId: string, id: string): Promise<Found<InternetGatewayView>> {
    return this.one<InternetGatewayState, InternetGatewayView>(
      `SELECT id, state, revision, created_at, updated_at FROM network_internet_gateways
       WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted'`,
      [id, tenantId],
      'internet_gateway',
      id,
      internetGatewayView,
    );
  }

  internetGateways(tenantId: string, page: PageRequest<CreatedKey>) {
    return this.page<InternetGatewayState, InternetGatewayView>(
      'network_internet_gateways',
      "tenant_id = $1 AND status <> 'deleted'",
      [tenantId],
      page,
      internetGatewayView,
    );
  }

  elasticIp(tenantId: string, id: string): Promise<Found<ElasticIpView>> {
    return this.one<ElasticIpState, ElasticIpView>(
      `SELECT id, state, revision, created_at, updated_at FROM network_elastic_ips
       WHERE id = $1 AND tenant_id = $2 AND status <> 'released'`,
      [id, tenantId],
      'elastic_ip',
      id,
      elasticIpView,
    );
  }

  elasticIps(tenantId: string, page: PageRequest<CreatedKey>) {
    return this.page<ElasticIpState, ElasticIpView>(
      'network_elastic_ips',
      "tenant_id = $1 AND status <> 'released'",
      [tenantId],
      page,
      elasticIpView,
    );
  }

  /** `includeDeleted`: a delete's own answer, when its teardown already finished. */
  natGateway(tenantId: string, id: string, includeDeleted = false): Promise<Found<NatGatewayView>> {
    return this.one<NatGatewayState, NatGatewayView>(
      `SELECT id, state, revision, created_at, updated_at FROM network_nat_gateways
       WHERE id = $1 AND tenant_id = $2 AND ($3::boolean OR status <> 'deleted')`,
      [id, tenantId, includeDeleted],
      'nat_gateway',
      id,
      natGatewayView,
    );
  }

  /** The VPC's NAT gateways (deleted ones left out); the caller has checked the VPC is theirs. */
  natGateways(tenantId: string, vpcId: string, page: PageRequest<CreatedKey>) {
    return this.page<NatGatewayState, NatGatewayView>(
      'network_nat_gateways',
      "tenant_id = $1 AND vpc_id = $2 AND status <> 'deleted'",
      [tenantId, vpcId],
      page,
      natGatewayView,
    );
  }

  /** A peering the tenant is a side of (requester or accepter). */
  vpcPeering(tenantId: string, id: string, includeDeleted = false): Promise<Found<VpcPeeringView>> {
    return this.one<VpcPeeringState, VpcPeeringView>(
      `SELECT id, state, revision, created_at, updated_at FROM network_vpc_peerings
       WHERE id = $1 AND (requester_tenant_id = $2 OR accepter_tenant_id = $2)
         AND ($3::boolean OR status <> 'deleted')`,
      [id, tenantId, includeDeleted],
      'vpc_peering',
      id,
      vpcPeeringView,
    );
  }

  vpcPeerings(tenantId: string, page: PageRequest<CreatedKey>) {
    return this.page<VpcPeeringState, VpcPeeringView>(
      'network_vpc_peerings',
      "(requester_tenant_id = $1 OR accepter_tenant_id = $1) AND status <> 'deleted'",
      [tenantId],
      page,
      vpcPeeringView,
    );
  }
}
