import { Logger, Module, type DynamicModule } from '@nestjs/common';
import Dockerode from 'dockerode';

import { BaseImagesService } from './base-images.service';
import { describeSelection, detectDrivers, type DetectedDrivers } from './detection';
import { DEFAULT_DOCKER_SOCKET, probeDocker } from './docker/docker-probe';
import { DockerReadiness, OvsReadiness } from './drivers-readiness';
import type { DriversModuleOptions } from './drivers.options';
import { execCommand, type Exec } from './exec';
import { probeOvs } from './ovs/ovs-probe';
import { DETECTED_DRIVERS, DOCKER_CLIENT, DRIVERS_OPTIONS, EXEC } from './tokens';

/**
 * The adapters to the real world. At start-up it probes Docker and Open vSwitch as NIMBUS_DOCKER
 * and NIMBUS_OVS ask, announces each choice once in the log, fails start-up when an explicitly
 * requested backend does not answer, builds the base images on a real Docker, and registers the
 * `docker` and `ovs` readiness checks. Global: drivers are injected wherever sagas and command
 * handlers need them.
 *
 *   DriversModule.forRoot({ modes: { docker: config.docker, ovs: config.ovs } })
 */
@Module({})
export class DriversModule {
  static forRoot(options: DriversModuleOptions): DynamicModule {
    const socketPath = options.dockerSocketPath ?? DEFAULT_DOCKER_SOCKET;
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
            const detected = await detectDrivers(resolved.modes, {
              docker: () => probeDocker(docker, socketPath),
              ovs: () => probeOvs(exec),
            });
            const logger = new Logger('drivers');
            for (const selection of [detected.docker, detected.ovs]) {
              if (selection.active === 'simulated') logger.warn(describeSelection(selection));
              else logger.log(describeSelection(selection));
            }
            return detected;
          },
        },
        BaseImagesService,
        DockerReadiness,
        OvsReadiness,
      ],
      exports: [DRIVERS_OPTIONS, EXEC, DOCKER_CLIENT, DETECTED_DRIVERS, BaseImagesService],
    };
  }
}
