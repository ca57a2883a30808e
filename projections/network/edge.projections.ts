/**
 * Read models of the VPC's edge: internet gateways, elastic IPs, NAT gateways and VPC peerings,
 * each folded with its domain's own `evolve` (the read model never disagrees with the aggregate),
 * the full state kept as jsonb and the columns lists filter on derived from it. Plus
 * `network_route_targets`: the routes that point at a gateway, a NAT gateway or a peering (what
 * detaching or deleting one checks).
 */

import {
  ELASTIC_IP_CATEGORY,
  INTERNET_GATEWAY_CATEGORY,
  NAT_GATEWAY_CATEGORY,
  ROUTE_TABLE_CATEGORY,
  VPC_PEERING_CATEGORY,
  evolveVpcPeering,
  initialVpcPeeringState,
  type VpcPeeringEvent,
  type VpcPeeringState,
  evolveElasticIp,
  evolveInternetGateway,
  evolveNatGateway,
  initialElasticIpState,
  initialInternetGatewayState,
  initialNatGatewayState,
  type NatGatewayEvent,
  type NatGatewayState,
  type ElasticIpEvent,
  type ElasticIpState,
  type InternetGatewayEvent,
  type InternetGatewayState,
  type Route,
  type RouteTableEvent,
} from '../../src/network/domain';
import { defineProjection } from '../runtime/projection';
import { foldInto, idInStream } from '../runtime/state-fold';

export const INTERNET_GATEWAYS_PROJECTION = 'network.internet_gateways';
export const ELASTIC_IPS_PROJECTION = 'network.elastic_ips';
export const ROUTE_TARGETS_PROJECTION = 'network.route_targets';
export const NAT_GATEWAYS_PROJECTION = 'network.nat_gateways';
export const VPC_PEERINGS_PROJECTION = 'network.vpc_peerings';

export const VPC_PEERING_EVENT_TYPES: readonly VpcPeeringEvent['type'][] = [
  'VpcPeeringRequested',
  'VpcPeeringAccepted',
  'VpcPeeringRejected',
  'VpcPeeringExpired',
  'VpcPeeringActivated',
  'VpcPeeringFailed',
  'VpcPeeringDeletionStarted',
  'VpcPeeringDeleted',
];

export const NAT_GATEWAY_EVENT_TYPES: readonly NatGatewayEvent['type'][] = [
  'NatGatewayCreated',
  'NatGatewayActivated',
  'NatGatewayFailed',
  'NatGatewayDeletionStarted',
  'NatGatewayDeleted',
];

export const INTERNET_GATEWAY_EVENT_TYPES: readonly InternetGatewayEvent['type'][] = [
  'InternetGatewayCreated',
  'InternetGatewayAttached',
  'InternetGatewayDetached',
  'InternetGatewayDeleted',
];

export const ELASTIC_IP_EVENT_TYPES: readonly ElasticIpEvent['type'][] = [
  'ElasticIpAllocated',
  'ElasticIpAssociated',
  'ElasticIpDisassociated',
  'ElasticIpReleased',
];

const ROUTE_TARGET_EVENT_TYPES: readonly RouteTableEvent['type'][] = [
  'RouteAdded',
  'RouteRemoved',
  'RouteTableDeleted',
];

export const internetGatewaysProjection = defineProjection({
  name: INTERNET_GATEWAYS_PROJECTION,
  version: 1,
  eventTypes: INTERNET_GATEWAY_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_internet_gateways (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      status text NOT NULL,
      vpc_id uuid,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_internet_gateways_tenant ON network_internet_gateways (tenant_id, created_at, id)',
    );
    await m.query(
      "CREATE INDEX IF NOT EXISTS network_internet_gateways_vpc ON network_internet_gateways (vpc_id) WHERE status = 'attached'",
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_internet_gateways');
  },
  async apply(events, manager) {
    await foldInto<InternetGatewayState>(
      events,
      manager,
      'network_internet_gateways',
      (e) => idInStream(INTERNET_GATEWAY_CATEGORY, e.streamId),
      initialInternetGatewayState,
      (s, e) => evolveInternetGateway(s, { type: e.type, data: e.data } as InternetGatewayEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO network_internet_gateways (id, tenant_id, status, vpc_id, state, revision,
             created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, vpc_id = EXCLUDED.vpc_id,
             state = EXCLUDED.state, revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [id, s.tenantId, s.status, s.vpcId, JSON.stringify(s), revision, createdAt, updatedAt],
        );
      },
    );
  },
});

export const elasticIpsProjection = defineProjection({
  name: ELASTIC_IPS_PROJECTION,
  version: 1,
  eventTypes: ELASTIC_IP_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_elastic_ips (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      status text NOT NULL,
      public_ip text NOT NULL,
      target_kind text,
      target_id uuid,
      vpc_id uuid,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_elastic_ips_tenant ON network_elastic_ips (tenant_id, created_at, id)',
    );
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_elastic_ips_target ON network_elastic_ips (target_id) WHERE target_id IS NOT NULL',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_elastic_ips');
  },
  async apply(events, manager) {
    await foldInto<ElasticIpState>(
      events,
      manager,
      'network_elastic_ips',
      (e) => idInStream(ELASTIC_IP_CATEGORY, e.streamId),
      initialElasticIpState,
      (s, e) => evolveElasticIp(s, { type: e.type, data: e.data } as ElasticIpEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null || s.publicIp === null) return;
        await m.query(
          `INSERT INTO network_elastic_ips (id, tenant_id, status, public_ip, target_kind,
             target_id, vpc_id, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,
             target_kind = EXCLUDED.target_kind, target_id = EXCLUDED.target_id,
             vpc_id = EXCLUDED.vpc_id, state = EXCLUDED.state, revision = EXCLUDED.revision,
             updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.status,
            s.publicIp,
            s.association?.target.kind ?? null,
            s.association?.target.id ?? null,
            s.association?.vpcId ?? null,
            JSON.stringify(s),
            revision,
            createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

export const natGatewaysProjection = defineProjection({
  name: NAT_GATEWAYS_PROJECTION,
  version: 1,
  eventTypes: NAT_GATEWAY_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_nat_gateways (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      status text NOT NULL,
      vpc_id uuid NOT NULL,
      subnet_id uuid NOT NULL,
      eip_id uuid NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_nat_gateways_vpc ON network_nat_gateways (vpc_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_nat_gateways');
  },
  async apply(events, manager) {
    await foldInto<NatGatewayState>(
      events,
      manager,
      'network_nat_gateways',
      (e) => idInStream(NAT_GATEWAY_CATEGORY, e.streamId),
      initialNatGatewayState,
      (s, e) => evolveNatGateway(s, { type: e.type, data: e.data } as NatGatewayEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null) return;
        await m.query(
          `INSERT INTO network_nat_gateways (id, tenant_id, status, vpc_id, subnet_id, eip_id,
             state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.status,
            s.vpcId,
            s.subnetId,
            s.eipId,
            JSON.stringify(s),
            revision,
            createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

/** Peerings, seen by both tenants: the requester's and the accepter's. */
export const vpcPeeringsProjection = defineProjection({
  name: VPC_PEERINGS_PROJECTION,
  version: 1,
  eventTypes: VPC_PEERING_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_vpc_peerings (
      id uuid PRIMARY KEY,
      requester_tenant_id uuid NOT NULL,
      accepter_tenant_id uuid NOT NULL,
      requester_vpc_id uuid NOT NULL,
      accepter_vpc_id uuid NOT NULL,
      status text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_vpc_peerings_requester ON network_vpc_peerings (requester_tenant_id, created_at, id)',
    );
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_vpc_peerings_accepter ON network_vpc_peerings (accepter_tenant_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_vpc_peerings');
  },
  async apply(events, manager) {
    await foldInto<VpcPeeringState>(
      events,
      manager,
      'network_vpc_peerings',
      (e) => idInStream(VPC_PEERING_CATEGORY, e.streamId),
      initialVpcPeeringState,
      (s, e) => evolveVpcPeering(s, { type: e.type, data: e.data } as VpcPeeringEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || !s.requester || !s.accepter) return;
        await m.query(
          `INSERT INTO network_vpc_peerings (id, requester_tenant_id, accepter_tenant_id,
             requester_vpc_id, accepter_vpc_id, status, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.requester.tenantId,
            s.accepter.tenantId,
            s.requester.vpcId,
            s.accepter.vpcId,
            s.status,
            JSON.stringify(s),
            revision,
            createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

/** Routes whose target is a gateway, a NAT gateway or a peering (never `local`). */
export const routeTargetsProjection = defineProjection({
  name: ROUTE_TARGETS_PROJECTION,
  version: 1,
  eventTypes: ROUTE_TARGET_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS network_route_targets (
      route_table_id uuid NOT NULL,
      route_id text NOT NULL,
      destination_cidr text NOT NULL,
      target_type text NOT NULL,
      target_id text NOT NULL,
      PRIMARY KEY (route_table_id, route_id)
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS network_route_targets_target ON network_route_targets (target_type, target_id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE network_route_targets');
  },
  async apply(events, m) {
    for (const event of events) {
      const routeTableId = idInStream(ROUTE_TABLE_CATEGORY, event.streamId);
      if (routeTableId === null) continue;
      if (event.type === 'RouteTableDeleted') {
        await m.query('DELETE FROM network_route_targets WHERE route_table_id = $1', [
          routeTableId,
        ]);
        continue;
      }
      const route = (event.data as { route?: Route }).route;
      if (!route || route.targetId === null || route.targetType === 'local') continue;
      if (event.type === 'RouteAdded') {
        await m.query(
          `INSERT INTO network_route_targets (route_table_id, route_id, destination_cidr,
             target_type, target_id) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (route_table_id, route_id) DO UPDATE SET
             destination_cidr = EXCLUDED.destination_cidr, target_type = EXCLUDED.target_type,
             target_id = EXCLUDED.target_id`,
          [routeTableId, route.routeId, route.destinationCidr, route.targetType, route.targetId],
        );
      } else if (event.type === 'RouteRemoved') {
        await m.query(
          'DELETE FROM network_route_targets WHERE route_table_id = $1 AND route_id = $2',
          [routeTableId, route.routeId],
        );
      }
    }
  },
});

/** The edge's read models (ProjectionsModule starts one runner per entry). */
export const EDGE_PROJECTIONS = [
  internetGatewaysProjection,
  elasticIpsProjection,
  routeTargetsProjection,
  natGatewaysProjection,
  vpcPeeringsProjection,
];
