import { Module } from '@nestjs/common';

import type { DetectedDrivers } from '../drivers/detection';
import { OvnNetworkFabric } from '../drivers/ovn/ovn-network-fabric';
import { SimulatedNetworkFabric } from '../drivers/ovn/simulated-network-fabric';
import { DETECTED_DRIVERS } from '../drivers/tokens';
import { NETWORK_FABRIC, type NetworkFabric } from './ports/network-fabric';

/**
 * Networking: so far the network fabric its handlers and sagas will drive, OVN when the drivers
 * detection chose it (NIMBUS_OVN), otherwise the simulation. Needs DriversModule (global).
 */
@Module({
  providers: [
    {
      provide: NETWORK_FABRIC,
      inject: [DETECTED_DRIVERS],
      useFactory: (drivers: DetectedDrivers): NetworkFabric =>
        drivers.ovn.active === 'ovn' ? new OvnNetworkFabric() : new SimulatedNetworkFabric(),
    },
  ],
  exports: [NETWORK_FABRIC],
})
export class NetworkModule {}
