import { Logger, Module } from '@nestjs/common';
import type Dockerode from 'dockerode';

import {
  clusterDeleteSaga,
  clusterOperationSaga,
  clusterProvisionSaga,
  type ClusterLifecyclePorts,
} from '../../sagas/cluster-lifecycle/cluster-lifecycle.saga';
import {
  clusterBackupDeleteSaga,
  clusterBackupSaga,
  clusterRestoreSaga,
} from '../../sagas/cluster-backup/cluster-backup.saga';
import { clusterUpgradeSaga } from '../../sagas/cluster-upgrade/cluster-upgrade.saga';
import { sagaCommandContext } from '../../sagas/runtime/definition';
import { provideSaga } from '../../sagas/runtime/sagas.module';
import type { AppConfig } from '../config/config';
import type { DetectedDrivers } from '../drivers/detection';
import { NsenterConnector } from '../drivers/docker/namespace-connector';
import { EngineContainers } from '../drivers/engines/engine-containers';
import { EngineImages } from '../drivers/engines/engine-images';
import { installationIdOf } from '../drivers/installation-id';
import { DETECTED_DRIVERS, DOCKER_CLIENT } from '../drivers/tokens';
import { CommandExecutor } from '../eventstore/command-executor';
import { EVENT_STORE, type EventStore } from '../eventstore/event-store';
import { provideQuotas, QuotaService } from '../platform/quotas/quota.service';
import { NetworkModule } from '../network/network.module';
import { ComputeModule } from '../compute/compute.module';
import { MANAGED_INSTANCES, type ManagedInstances } from '../compute/ports/managed-instances';
import { MACHINE_NICS, type MachineNics } from '../network/ports/machine-nics';
import { APP_CONFIG } from '../platform/tokens';
import { ClusterQueries } from './application/cluster-queries';
import { CLUSTER_QUOTAS } from './application/cluster-quotas';
import { CLUSTER_USE_CASES } from './application/use-cases';
import { EtcdControlPlane } from './drivers/etcd-control-plane';
import { DockerNodeRuntime } from './drivers/docker-node-runtime';
import { KubeadmClusterDriver } from './drivers/kubeadm-cluster-driver';
import { LocalClusterDriver } from './drivers/local-cluster-driver';
import { SimulatedClusterDriver } from './drivers/simulated-cluster-driver';
import { ClustersController } from './http/clusters.controller';
import { CLUSTER_DRIVER, type ClusterDriver } from './ports/kubernetes';

function lifecyclePorts(
  executor: CommandExecutor,
  store: EventStore,
  driver: ClusterDriver,
  quotas: QuotaService,
): ClusterLifecyclePorts {
  return {
    executor,
    store,
    driver,
    releaseQuota: (tenantId, clusterId) =>
      quotas.release(
        tenantId,
        clusterId,
        sagaCommandContext('cluster_delete', clusterId, 'release_quota', {
          tenantId,
          correlationId: clusterId,
        }),
      ),
  };
}

/**
 * The cluster driver: with the real Docker driver and a node image (NIMBUS_K8S_NODE_IMAGE), real
 * clusters bootstrapped by kubeadm (`KubeadmClusterDriver`); with Docker alone, simulated nodes
 * and a real etcd container per cluster (`LocalClusterDriver`); without Docker, the simulated
 * driver alone (no etcd: backups and restores answer 503).
 */
function clusterDriver(
  drivers: DetectedDrivers,
  docker: Dockerode,
  config: AppConfig,
  nics: MachineNics,
  instances: ManagedInstances,
): ClusterDriver {
  const announce = (driver: ClusterDriver, why: string): ClusterDriver => {
    new Logger('clusters').log(`cluster driver: ${driver.kind} (${why})`);
    return driver;
  };
  if (drivers.docker.active !== 'docker') {
    return announce(new SimulatedClusterDriver(), 'no Docker: nodes are records, no etcd');
  }
  const containers = new EngineContainers(docker, installationIdOf(config.dataDir));
  if (config.k8sNodeImage) {
    const runtime = new DockerNodeRuntime(
      docker,
      containers,
      nics,
      instances,
      new NsenterConnector(),
    );
    return announce(
      new KubeadmClusterDriver(runtime, { nodeImage: config.k8sNodeImage }),
      `nodes of ${config.k8sNodeImage} in the cluster's subnet, bootstrapped by kubeadm`,
    );
  }
  const images = new EngineImages((reference) => containers.imagePresent(reference));
  return announce(
    new LocalClusterDriver(new EtcdControlPlane(containers, images)),
    'simulated nodes, a real etcd per cluster; NIMBUS_K8S_NODE_IMAGE selects kubeadm',
  );
}

/**
 * Kubernetes clusters: the routes, the lifecycle, upgrade, backup and restore sagas, and the
 * cluster driver they drive (see README.md for what runs where); NetworkModule for the subnet
 * and the NICs of the nodes, ComputeModule to record the nodes as managed instances. Needs ProjectionsModule,
 * SagasModule and QuotasModule (global).
 */
@Module({
  imports: [NetworkModule, ComputeModule],
  controllers: [ClustersController],
  providers: [
    {
      provide: CLUSTER_DRIVER,
      inject: [DETECTED_DRIVERS, DOCKER_CLIENT, APP_CONFIG, MACHINE_NICS, MANAGED_INSTANCES],
      useFactory: clusterDriver,
    },
    ClusterQueries,
    provideQuotas('clusters', CLUSTER_QUOTAS),
    ...CLUSTER_USE_CASES,
    provideSaga({
      inject: [CommandExecutor, EVENT_STORE, CLUSTER_DRIVER, QuotaService],
      useFactory: (e: CommandExecutor, s: EventStore, d: ClusterDriver, q: QuotaService) =>
        clusterProvisionSaga(lifecyclePorts(e, s, d, q)),
    }),
    provideSaga({
      inject: [CommandExecutor, EVENT_STORE, CLUSTER_DRIVER, QuotaService],
      useFactory: (e: CommandExecutor, s: EventStore, d: ClusterDriver, q: QuotaService) =>
        clusterDeleteSaga(lifecyclePorts(e, s, d, q)),
    }),
    provideSaga({
      inject: [CommandExecutor, EVENT_STORE, CLUSTER_DRIVER, QuotaService],
      useFactory: (e: CommandExecutor, s: EventStore, d: ClusterDriver, q: QuotaService) =>
        clusterOperationSaga(lifecyclePorts(e, s, d, q)),
    }),
    provideSaga({
      inject: [CommandExecutor, CLUSTER_DRIVER],
      useFactory: (executor: CommandExecutor, driver: ClusterDriver) =>
        clusterUpgradeSaga({ executor, driver }),
    }),
    ...[clusterBackupSaga, clusterBackupDeleteSaga, clusterRestoreSaga].map((saga) =>
      provideSaga({
        inject: [CommandExecutor, EVENT_STORE, CLUSTER_DRIVER],
        useFactory: (executor: CommandExecutor, store: EventStore, driver: ClusterDriver) =>
          saga({ executor, store, driver }),
      }),
    ),
  ],
  exports: [CLUSTER_DRIVER],
})
export class ClustersModule {}
