import { ManagedInstanceRecords } from './application/managed-instances';
import { MANAGED_INSTANCES } from './ports/managed-instances';
import { Module } from '@nestjs/common';
import type Dockerode from 'dockerode';
import type { AppConfig } from '../config/config';
import type { DetectedDrivers } from '../drivers/detection';
import { COMPUTE_DRIVER, type ComputeDriver } from '../drivers/docker/compute-driver';
import { DockerDriver } from '../drivers/docker/docker-driver';
import { installationIdOf } from '../drivers/installation-id';
import { SimulatedDockerDriver } from '../drivers/docker/simulated-docker-driver';
import {
  NAMESPACE_CONNECTOR,
  NoNamespaceConnector,
  NsenterConnector,
  type NamespaceConnector,
} from '../drivers/docker/namespace-connector';
import { BASE_IMAGES } from '../drivers/docker/base-images';
import { DETECTED_DRIVERS, DOCKER_CLIENT } from '../drivers/tokens';
import { APP_CONFIG } from '../platform/tokens';
import { ComputeLifecycle } from './application/compute-lifecycle';
import {
  COMPUTE_OPTIONS,
  computeOptionsFrom,
  type ComputeOptions,
} from './application/compute-options';
import { ComputeQueries } from './application/compute-queries';
import { computeQuotas } from './application/compute-quotas';
import { provideQuotas, QuotaService } from '../platform/quotas/quota.service';
import { DriftReconciler } from './application/drift-reconciler';
import { IMAGE_USE_CASES, ImageImports } from './application/images';
import { instanceLaunchSaga } from '../../sagas/instance-launch/instance-launch.saga';
import { provideSaga } from '../../sagas/runtime/sagas.module';
import { CommandExecutor } from '../eventstore/command-executor';
import { EVENT_STORE, type EventStore } from '../eventstore/event-store';
import {
  ComputeLocks,
  hostCpus,
  INSTANCE_USE_CASES,
  InstanceOperations,
} from './application/instances';
import { LogCollector } from './application/log-collector';
import { PublishedPorts } from './application/published-ports';
import { VOLUME_USE_CASES, VolumeAccess } from './application/volumes';
import { ConsoleGateway, ConsoleTokens } from './http/console';
import {
  ImagesController,
  LogsController,
  VolumesController,
} from './http/images-volumes-logs.controller';
import { InstancesController, InstanceTypesController } from './http/instances.controller';
import { NetworkModule } from '../network/network.module';
import { INSTANCE_NETWORK, type InstanceNetwork } from '../network/ports/instance-network';

/**
 * Compute: instances (Docker containers sized by their type), images, volumes, quotas and logs.
 * Declares its quotas with the platform's quota service (provideQuotas). Needs DriversModule (global), ProjectionsModule (global) and SagasModule (global); registers
 * the launch saga with its ports (provideSaga).
 */
@Module({
  imports: [NetworkModule],
  controllers: [
    InstanceTypesController,
    InstancesController,
    ImagesController,
    VolumesController,
    LogsController,
  ],
  providers: [
    { provide: COMPUTE_OPTIONS, useFactory: computeOptionsFrom, inject: [APP_CONFIG] },
    {
      provide: COMPUTE_DRIVER,
      inject: [DETECTED_DRIVERS, DOCKER_CLIENT, APP_CONFIG],
      useFactory: (
        drivers: DetectedDrivers,
        docker: Dockerode,
        config: AppConfig,
      ): ComputeDriver => {
        if (drivers.docker.active === 'docker') {
          return new DockerDriver(docker, installationIdOf(config.dataDir));
        }
        const simulated = new SimulatedDockerDriver();
        for (const image of BASE_IMAGES) simulated.addImage(image.reference);
        return simulated;
      },
    },
    {
      provide: NAMESPACE_CONNECTOR,
      inject: [DETECTED_DRIVERS],
      useFactory: (drivers: DetectedDrivers): NamespaceConnector =>
        drivers.docker.active === 'docker'
          ? new NsenterConnector()
          : new NoNamespaceConnector('the simulated engine runs no containers'),
    },
    PublishedPorts,
    provideQuotas('compute', {
      inject: [COMPUTE_OPTIONS],
      useFactory: (options: ComputeOptions) => computeQuotas(options.quotaLimits),
    }),
    ComputeLocks,
    ManagedInstanceRecords,
    { provide: MANAGED_INSTANCES, useExisting: ManagedInstanceRecords },
    ComputeQueries,
    InstanceOperations,
    ...INSTANCE_USE_CASES,
    VolumeAccess,
    ...VOLUME_USE_CASES,
    ImageImports,
    ...IMAGE_USE_CASES,
    DriftReconciler,
    LogCollector,
    ConsoleTokens,
    ConsoleGateway,
    ComputeLifecycle,
    provideSaga({
      inject: [
        CommandExecutor,
        EVENT_STORE,
        COMPUTE_DRIVER,
        COMPUTE_OPTIONS,
        QuotaService,
        INSTANCE_NETWORK,
      ],
      useFactory: (
        executor: CommandExecutor,
        store: EventStore,
        driver: ComputeDriver,
        options: ComputeOptions,
        quotas: QuotaService,
        network: InstanceNetwork,
      ) =>
        instanceLaunchSaga({
          executor,
          store,
          driver,
          quotas,
          network,
          hostCpus: hostCpus(),
          containerLabels: options.containerLabels,
        }),
    }),
  ],
  exports: [
    COMPUTE_DRIVER,
    InstanceOperations,
    ComputeQueries,
    DriftReconciler,
    LogCollector,
    MANAGED_INSTANCES,
  ],
})
export class ComputeModule {}
