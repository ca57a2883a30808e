import { Module } from '@nestjs/common';

import {
  natGatewayDeleteSaga,
  natGatewaySaga,
  type NatGatewayPorts,
} from '../../sagas/nat-gateway/nat-gateway.saga';
import { provideSaga } from '../../sagas/runtime/sagas.module';
import { vpcPeeringDeleteSaga, vpcPeeringSaga } from '../../sagas/vpc-peering/vpc-peering.saga';
import { CommandExecutor } from '../eventstore/command-executor';
import { EVENT_STORE, type EventStore } from '../eventstore/event-store';
import type { DetectedDrivers } from '../drivers/detection';
import { installationFabricOptions, OvnNetworkFabric } from '../drivers/ovn/ovn-network-fabric';
import type { AppConfig } from '../config/config';
import { SimulatedNetworkFabric } from '../drivers/ovn/simulated-network-fabric';
import { DETECTED_DRIVERS } from '../drivers/tokens';
import { provideQuotas, QuotaService } from '../platform/quotas/quota.service';
import { APP_CONFIG } from '../platform/tokens';
import { EdgeAccess } from './application/edge-access';
import { EdgeQueries } from './application/edge-queries';
import { EDGE_QUOTAS } from './application/edge-quotas';
import { ELASTIC_IP_USE_CASES } from './application/elastic-ips';
import { INTERNET_GATEWAY_USE_CASES } from './application/internet-gateways';
import { NAT_GATEWAY_USE_CASES } from './application/nat-gateways';
import { VPC_PEERING_USE_CASES } from './application/vpc-peerings';
import { NETWORK_OPTIONS, networkOptionsFrom } from './application/network-options';
import { NetworkQueries } from './application/network-queries';
import { NetworkLocks, NetworkOperations } from './application/network-operations';
import { ROUTE_TABLE_USE_CASES, RouteTargets } from './application/route-tables';
import { SECURITY_GROUP_USE_CASES } from './application/security-groups';
import { SUBNET_USE_CASES, SubnetProvisioning } from './application/subnets';
import { VPC_USE_CASES, VpcDependentsReader, VpcProvisioning } from './application/vpcs';
import { ElasticIpsController } from './http/elastic-ips.controller';
import { InternetGatewaysController } from './http/internet-gateways.controller';
import { RouteTablesController } from './http/route-tables.controller';
import { SecurityGroupsController } from './http/security-groups.controller';
import { SubnetsController, VpcsController } from './http/vpcs.controller';
import { NatGatewaysController } from './http/nat-gateways.controller';
import { VpcPeeringsController } from './http/vpc-peerings.controller';
import { NETWORK_FABRIC, type NetworkFabric } from './ports/network-fabric';
import { INSTANCE_NETWORK } from './ports/instance-network';
import { MACHINE_NICS } from './ports/machine-nics';
import { InstanceNics } from './application/instances/instance-nics';
import { NetworkReconciler } from './application/network-reconciler';

function natGatewayPorts(
  executor: CommandExecutor,
  store: EventStore,
  fabric: NetworkFabric,
  edge: EdgeAccess,
  quotas: QuotaService,
): NatGatewayPorts {
  return {
    executor,
    store,
    fabric,
    attachedGatewayOf: (vpcId) => edge.attachedGatewayOf(vpcId),
    releaseQuota: (tenantId, natGatewayId, ctx) => quotas.release(tenantId, natGatewayId, ctx),
  };
}

/**
 * Networking: the network fabric its handlers and sagas drive (OVN when the drivers detection
 * chose it, NIMBUS_OVN, otherwise the simulation), and the routes of each family. Needs
 * DriversModule (global), ProjectionsModule (global) and SagasModule (global).
 */
@Module({
  controllers: [
    VpcsController,
    SubnetsController,
    SecurityGroupsController,
    RouteTablesController,
    InternetGatewaysController,
    ElasticIpsController,
    NatGatewaysController,
    VpcPeeringsController,
  ],
  providers: [
    {
      provide: NETWORK_FABRIC,
      inject: [DETECTED_DRIVERS, APP_CONFIG],
      useFactory: (drivers: DetectedDrivers, config: AppConfig): NetworkFabric =>
        drivers.ovn.active === 'ovn'
          ? new OvnNetworkFabric(installationFabricOptions(config.ovnOwner))
          : new SimulatedNetworkFabric(),
    },
    { provide: NETWORK_OPTIONS, useFactory: networkOptionsFrom, inject: [APP_CONFIG] },
    EdgeAccess,
    EdgeQueries,
    provideQuotas('network', EDGE_QUOTAS),
    ...INTERNET_GATEWAY_USE_CASES,
    ...ELASTIC_IP_USE_CASES,
    NetworkLocks,
    NetworkOperations,
    NetworkQueries,
    VpcDependentsReader,
    VpcProvisioning,
    SubnetProvisioning,
    ...VPC_USE_CASES,
    ...SUBNET_USE_CASES,
    ...SECURITY_GROUP_USE_CASES,
    RouteTargets,
    ...ROUTE_TABLE_USE_CASES,
    ...NAT_GATEWAY_USE_CASES,
    ...VPC_PEERING_USE_CASES,
    InstanceNics,
    { provide: INSTANCE_NETWORK, useExisting: InstanceNics },
    {
      provide: MACHINE_NICS,
      inject: [InstanceNics],
      useFactory: (nics: InstanceNics) => nics.forMachines(),
    },
    NetworkReconciler,
    provideSaga({
      inject: [CommandExecutor, EVENT_STORE, NETWORK_FABRIC],
      useFactory: (executor: CommandExecutor, store: EventStore, fabric: NetworkFabric) =>
        vpcPeeringSaga({ executor, store, fabric }),
    }),
    provideSaga({
      inject: [CommandExecutor, EVENT_STORE, NETWORK_FABRIC],
      useFactory: (executor: CommandExecutor, store: EventStore, fabric: NetworkFabric) =>
        vpcPeeringDeleteSaga({ executor, store, fabric }),
    }),
    provideSaga({
      inject: [CommandExecutor, EVENT_STORE, NETWORK_FABRIC, EdgeAccess, QuotaService],
      useFactory: (
        executor: CommandExecutor,
        store: EventStore,
        fabric: NetworkFabric,
        edge: EdgeAccess,
        quotas: QuotaService,
      ) => natGatewaySaga(natGatewayPorts(executor, store, fabric, edge, quotas)),
    }),
    provideSaga({
      inject: [CommandExecutor, EVENT_STORE, NETWORK_FABRIC, EdgeAccess, QuotaService],
      useFactory: (
        executor: CommandExecutor,
        store: EventStore,
        fabric: NetworkFabric,
        edge: EdgeAccess,
        quotas: QuotaService,
      ) => natGatewayDeleteSaga(natGatewayPorts(executor, store, fabric, edge, quotas)),
    }),
  ],
  exports: [NETWORK_FABRIC, INSTANCE_NETWORK, MACHINE_NICS],
})
export class NetworkModule {}
