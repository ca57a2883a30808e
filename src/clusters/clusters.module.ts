import { Module } from '@nestjs/common';

import {
  clusterDeleteSaga,
  clusterOperationSaga,
  clusterProvisionSaga,
  type ClusterLifecyclePorts,
} from '../../sagas/cluster-lifecycle/cluster-lifecycle.saga';
import { clusterUpgradeSaga } from '../../sagas/cluster-upgrade/cluster-upgrade.saga';
import { sagaCommandContext } from '../../sagas/runtime/definition';
import { provideSaga } from '../../sagas/runtime/sagas.module';
import { CommandExecutor } from '../eventstore/command-executor';
import { EVENT_STORE, type EventStore } from '../eventstore/event-store';
import { provideQuotas, QuotaService } from '../platform/quotas/quota.service';
import { ClusterQueries } from './application/cluster-queries';
import { CLUSTER_QUOTAS } from './application/cluster-quotas';
import { CLUSTER_USE_CASES } from './application/use-cases';
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
 * Kubernetes clusters: the routes, the lifecycle and upgrade sagas, and the cluster driver they
 * drive (the simulated one: see README.md for what runs where). Needs ProjectionsModule,
 * SagasModule and QuotasModule (global).
 */
@Module({
  controllers: [ClustersController],
  providers: [
    { provide: CLUSTER_DRIVER, useFactory: (): ClusterDriver => new SimulatedClusterDriver() },
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
  ],
  exports: [CLUSTER_DRIVER],
})
export class ClustersModule {}
