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
import type { RouteTableState, SecurityGroupState, SubnetState, VpcState } from '../domain';
import {
  routeTableView,
  securityGroupView,
  subnetView,
  vpcView,
  type RouteTableView,
  type SecurityGroupView,
  type SubnetView,
  type VpcView,
} from './views';

/** Sort key of list pages: creation time, then id. */

interface StateRow<S> {
  id: string;
  state: S;
  revision: string;
  created_at: Date;
}

import type { Found } from '../../platform/http/after-write';
export type { Found };

type Table =
  'network_vpcs' | 'network_subnets' | 'network_security_groups' | 'network_route_tables';

/**
 * Reads of the networking read models. Only available resources of the caller's tenant are
 * visible: another tenant's id, or a deleted resource, is 404.
 */
@Injectable()
export class NetworkQueries {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  private async one<S, V>(
    table: Table,
    resource: string,
    tenantId: string,
    id: string,
    view: (state: S) => V,
  ): Promise<Found<V>> {
    const { rows } = await this.pool.query<StateRow<S>>(
      `SELECT id, state, revision, created_at FROM ${table}
       WHERE id = $1 AND tenant_id = $2 AND status = 'available'`,
      [id, tenantId],
    );
    const row = rows[0];
    if (!row) throw AppError.notFound(resource, id);
    return { view: view(row.state), revision: row.revision };
  }

  private async page<S, V>(
    table: Table,
    tenantId: string,
    page: PageRequest<CreatedKey>,
    view: (state: S) => V,
    vpcId?: string,
  ): Promise<V[] | PageEnvelope<V>> {
    const params: unknown[] = [tenantId];
    let where = "tenant_id = $1 AND status = 'available'";
    if (vpcId !== undefined) {
      params.push(vpcId);
      where += ` AND vpc_id = $${params.length}`;
    }
    where += afterCreatedKey(page, params);
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<StateRow<S>>(
      `SELECT id, state, revision, created_at FROM ${table} WHERE ${where}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, createdKeyOf);
    if (Array.isArray(result)) return result.map((r) => view(r.state));
    return { items: result.items.map((r) => view(r.state)), page: result.page };
  }

  vpc(tenantId: string, id: string): Promise<Found<VpcView>> {
    return this.one<VpcState, VpcView>('network_vpcs', 'vpc', tenantId, id, vpcView);
  }

  vpcs(tenantId: string, page: PageRequest<CreatedKey>) {
    return this.page<VpcState, VpcView>('network_vpcs', tenantId, page, vpcView);
  }

  subnet(tenantId: string, id: string): Promise<Found<SubnetView>> {
    return this.one<SubnetState, SubnetView>('network_subnets', 'subnet', tenantId, id, subnetView);
  }

  subnets(tenantId: string, vpcId: string, page: PageRequest<CreatedKey>) {
    return this.page<SubnetState, SubnetView>('network_subnets', tenantId, page, subnetView, vpcId);
  }

  securityGroup(tenantId: string, id: string): Promise<Found<SecurityGroupView>> {
    return this.one<SecurityGroupState, SecurityGroupView>(
      'network_security_groups',
      'security_group',
      tenantId,
      id,
      securityGroupView,
    );
  }

  securityGroups(tenantId: string, vpcId: string, page: PageRequest<CreatedKey>) {
    return this.page<SecurityGroupState, SecurityGroupView>(
      'network_security_groups',
      tenantId,
      page,
      securityGroupView,
      vpcId,
    );
  }

  routeTable(tenantId: string, id: string): Promise<Found<RouteTableView>> {
    return this.one<RouteTableState, RouteTableView>(
      'network_route_tables',
      'route_table',
      tenantId,
      id,
      routeTableView,
    );
  }

  routeTables(tenantId: string, vpcId: string, page: PageRequest<CreatedKey>) {
    return this.page<RouteTableState, RouteTableView>(
      'network_route_tables',
      tenantId,
      page,
      routeTableView,
      vpcId,
    );
  }

  /** The VPC's live subnets with their blocks and address holders (creation order). */
  async liveSubnetsOf(
    vpcId: string,
  ): Promise<Array<{ subnetId: string; cidrBlock: string; holders: string[] }>> {
    const { rows } = await this.pool.query<{ id: string; state: SubnetState }>(
      `SELECT id, state FROM network_subnets WHERE vpc_id = $1 AND status = 'available'
       ORDER BY created_at, id`,
      [vpcId],
    );
    return rows.map((r) => ({
      subnetId: r.id,
      cidrBlock: r.state.cidrBlock as string,
      holders: Object.keys(r.state.allocations),
    }));
  }

  /** Names of the VPC's live security groups (names are unique per VPC). */
  async securityGroupNames(vpcId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT name FROM network_security_groups WHERE vpc_id = $1 AND status = 'available'`,
      [vpcId],
    );
    return rows.map((r) => r.name);
  }

  /** Live route tables and security groups of a VPC other than its main table and default group. */
  async ownedByVpc(vpcId: string): Promise<{ routeTables: string[]; securityGroups: string[] }> {
    const [tables, groups] = await Promise.all([
      this.pool.query<{ id: string }>(
        `SELECT id FROM network_route_tables WHERE vpc_id = $1 AND status = 'available'
         AND NOT is_main ORDER BY created_at, id`,
        [vpcId],
      ),
      this.pool.query<{ id: string }>(
        `SELECT id FROM network_security_groups WHERE vpc_id = $1 AND status = 'available'
         AND NOT is_default ORDER BY created_at, id`,
        [vpcId],
      ),
    ]);
    return {
      routeTables: tables.rows.map((r) => r.id),
      securityGroups: groups.rows.map((r) => r.id),
    };
  }

  /** The route table a subnet is explicitly associated with, if any. */
  async routeTableAssociatedWith(subnetId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM network_route_tables WHERE status = 'available' AND $1 = ANY(subnet_ids)`,
      [subnetId],
    );
    return rows[0]?.id ?? null;
  }

  /** Where an instance of the tenant holds its address (its NIC), or null when it has none. */
  async placementOf(
    tenantId: string,
    instanceId: string,
  ): Promise<{ subnetId: string; vpcId: string } | null> {
    const { rows } = await this.pool.query<{ id: string; vpc_id: string }>(
      `SELECT id, vpc_id FROM network_subnets
       WHERE tenant_id = $1 AND status = 'available' AND state->'allocations' ? $2`,
      [tenantId, instanceId],
    );
    return rows[0] ? { subnetId: rows[0].id, vpcId: rows[0].vpc_id } : null;
  }

  /** The security groups an instance is a member of. */
  async groupsOfInstance(instanceId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM network_security_groups WHERE status = 'available' AND $1 = ANY(member_ids)`,
      [instanceId],
    );
    return rows.map((r) => r.id);
  }

  /** Whether a read model has a row meeting `condition` (constants of the code; absent table: no). */
  async rowExists(table: string, condition: string, params: unknown[]): Promise<boolean> {
    const exists = await this.pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
      table,
    ]);
    if (!exists.rows[0]?.t) return false;
    const { rows } = await this.pool.query(
      `SELECT 1 FROM ${table} WHERE ${condition} LIMIT 1`,
      params,
    );
    return rows.length > 0;
  }

  /**
   * Rows of a table (read model) whose `vpc_id` column names the VPC, for dependents of other
   * families; an absent table (a family not built yet) has none.
   */
  async liveIdsIn(
    table: string,
    vpcId: string,
    liveCondition: string,
    inVpc = 'vpc_id = $1',
  ): Promise<string[]> {
    const exists = await this.pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
      table,
    ]);
    if (!exists.rows[0]?.t) return [];
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM ${table} WHERE ${inVpc} AND ${liveCondition} ORDER BY id`,
      [vpcId],
    );
    return rows.map((r) => r.id);
  }
}
