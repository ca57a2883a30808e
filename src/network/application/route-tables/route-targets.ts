import { Injectable } from '@nestjs/common';
import { AppError } from '../../../common/errors/app-error';
import type { Route, RouteTargetType } from '../../domain';
import type { RouteTarget } from '../../ports/network-fabric';
import { EdgeAccess } from '../edge-access';
import { NetworkQueries } from '../network-queries';

/**
 * The read model of each route target type, and the condition its row must meet to take routes
 * from a VPC ($1 the target's id, $2 the VPC's id; constants of the code). A family's table that
 * does not exist yet holds no target.
 */
export const ROUTE_TARGET_TABLES: Partial<
  Record<Exclude<RouteTargetType, 'local'>, { table: string; live: string }>
> = {
  igw: {
    table: 'network_internet_gateways',
    live: "id = $1 AND vpc_id = $2 AND status = 'attached'",
  },
  nat: {
    table: 'network_nat_gateways',
    live: "id = $1 AND vpc_id = $2 AND status IN ('pending', 'active')",
  },
  peering: {
    table: 'network_vpc_peerings',
    live: "id = $1 AND $2 IN (requester_vpc_id, accepter_vpc_id) AND status = 'active'",
  },
};

/** Checks a route's target and says where the fabric sends its traffic. */
@Injectable()
export class RouteTargets {
  constructor(
    private readonly queries: NetworkQueries,
    private readonly edge: EdgeAccess,
  ) {}

  /** 404 when the target is not a live one of the VPC (or its type has no read model yet). */
  async check(vpcId: string, targetType: string, targetId: string): Promise<void> {
    const type = targetType as Exclude<RouteTargetType, 'local'>;
    const source = ROUTE_TARGET_TABLES[type];
    if (!source || !(await this.queries.rowExists(source.table, source.live, [targetId, vpcId]))) {
      throw new AppError('not_found', `${targetType} ${targetId} not found in VPC ${vpcId}`, {
        resource: targetType,
        id: targetId,
        field: 'target_id',
      });
    }
  }

  /**
   * Where a route sends traffic on the fabric: an internet gateway's upstream, a peering's link;
   * a NAT gateway's traffic leaves through the VPC's internet gateway (its SNAT rule picks the
   * address).
   */
  async fabricTarget(vpcId: string, route: Route): Promise<RouteTarget> {
    switch (route.targetType) {
      case 'igw':
        return { kind: 'gateway', gatewayId: route.targetId as string };
      case 'peering':
        return { kind: 'peering', peeringId: route.targetId as string };
      case 'nat': {
        const gatewayId = await this.edge.attachedGatewayOf(vpcId);
        if (!gatewayId) {
          throw AppError.invalidState(
            `VPC ${vpcId} has no internet gateway attached; a NAT gateway's route leaves through it`,
            { vpc_id: vpcId },
          );
        }
        return { kind: 'gateway', gatewayId };
      }
      case 'local':
        throw new Error('the local route is not a static route');
      default: {
        const unknown: never = route.targetType;
        throw new Error(`unknown route target ${String(unknown)}`);
      }
    }
  }
}
