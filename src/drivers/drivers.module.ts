import { Logger, Module, type DynamicModule } from '@nestjs/common';
import Dockerode from 'dockerode';

import { BaseImagesService } from './base-images.service';
import { describeSelection, detectDrivers, type DetectedDrivers } from './detection';
import type { DriverModes } from './driver-modes';
import { DEFAULT_DOCKER_SOCKET, probeDocker } from './docker/docker-probe';
import { DockerReadiness, OvnReadiness, OvsReadiness } from './drivers-readiness';
import type { DriversModuleOptions } from './drivers.options';
import { execCommand, type Exec } from './exec';
import { probeOvn } from './ovn/ovn-probe';
import { probeOvs } from './ovs/ovs-probe';
import { DETECTED_DRIVERS, DOCKER_CLIENT, DRIVERS_OPTIONS, EXEC } from './tokens';

/**
 * The adapters to the real world. At start-up it probes Docker, Open vSwitch and OVN as
 * NIMBUS_DOCKER, NIMBUS_OVS and NIMBUS_OVN ask, announces each choice once in the log, fails start-up when an explicitly
 * requested backend does not answer, builds the base images on a real Docker, and registers the
 * `docker`, `ovs` and `ovn` readiness checks. Global: drivers are injected wherever sagas and command
 * handlers need them.
 *
 *   DriversModule.forRoot({ modes: { docker: config.docker, ovs: config.ovs, ovn: config.ovn } })
 */
@Module({})
export class DriversModule {
  static forRoot(options: DriversModuleOptions): DynamicModule {
    const socketPath = options.dockerSocketPath ?? DEFAULT_DOCKER_SOCKET;
    const modes: DriverModes = options.modes;
    const resolved: DriversModuleOptions = { ...options, dockerSocketPath: socketPath };
    return {
      module: DriversModule,
      global: true,
      providers: [
        { provide: DRIVERS_OPTIONS, useValue: resolved },
        { provide: EXEC, useValue: execCommand },
        { provide: DOCKER_CLIENT, useFactory: () => new Dockerode({ socketPath }) },
        {
          provide: DETECTED_DRIVERS,
          inject: [DOCKER_CLIENT, EXEC],
          useFactory: async (docker: Dockerode, exec: Exec): Promise<DetectedDrivers> => {
            const detected = await detectDrivers(modes, {
              docker: () => probeDocker(docker, socketPath),
              ovs: () => probeOvs(exec),
              ovn: () => probeOvn(exec),
            });
            const logger = new Logger('drivers');
            for (const selection of [detected.docker, detected.ovs, detected.ovn]) {
              if (selection.active === 'simulated') logger.warn(describeSelection(selection));
              else logger.log(describeSelection(selection));
            }
            return detected;
          },
        },
        BaseImagesService,
        DockerReadiness,
        OvsReadiness,
        OvnReadiness,
      ],
      exports: [DRIVERS_OPTIONS, EXEC, DOCKER_CLIENT, DETECTED_DRIVERS, BaseImagesService],
    };
  }
}
