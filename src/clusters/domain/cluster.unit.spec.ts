import { describe, expect, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import {
  clusterDecider,
  type ClusterCommand,
  type ClusterEvent,
  type ClusterNode,
  type UpgradeOptions,
} from './cluster';
import { upgradePathProblem } from './versions';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'c-1';
const NODES: ClusterNode[] = [
  { name: 'cp-0', role: 'control-plane', version: 'v1.29.0' },
  { name: 'w-0', role: 'worker', version: 'v1.29.0' },
];
const OPTIONS: UpgradeOptions = {
  maxUnavailable: 1,
  maxFailedNodes: 0,
  drainTimeoutSeconds: 300,
  healthTimeoutSeconds: 600,
  force: false,
};

const created: ClusterEvent = {
  type: 'ClusterCreated',
  data: {
    clusterId: ID,
    tenantId: 't-1',
    name: 'prod',
    vpcId: 'vpc-1',
    subnetId: 'subnet-1',
    version: 'v1.29.0',
    workers: 1,
    ha: false,
    at: AT,
  },
};
const started: ClusterEvent = {
  type: 'ClusterProvisioningStarted',
  data: { clusterId: ID, at: AT },
};
const provisioned: ClusterEvent = {
  type: 'ClusterProvisioned',
  data: { clusterId: ID, endpoint: 'https://10.0.0.5:6443', nodes: NODES, at: AT },
};
const running = [created, started, provisioned];
const upgradeStarted: ClusterEvent = {
  type: 'ClusterUpgradeStarted',
  data: {
    clusterId: ID,
    upgradeId: 'u-1',
    fromVersion: 'v1.29.0',
    toVersion: 'v1.30.0',
    options: OPTIONS,
    at: AT,
  },
};

const C = {
  create: (
    over: Partial<Extract<ClusterCommand, { type: 'CreateCluster' }>> = {},
  ): ClusterCommand => ({
    type: 'CreateCluster',
    clusterId: ID,
    tenantId: 't-1',
    name: 'prod',
    vpcId: 'vpc-1',
    subnetId: 'subnet-1',
    version: 'v1.29.0',
    workers: 1,
    ha: false,
    now: NOW,
    ...over,
  }),
  upgrade: (version: string): ClusterCommand => ({
    type: 'StartUpgrade',
    upgradeId: 'u-1',
    version,
    options: OPTIONS,
    now: NOW,
  }),
  scale: (workers: unknown): ClusterCommand => ({
    type: 'ScaleCluster',
    operationId: 'op-1',
    workers,
    now: NOW,
  }),
  repair: { type: 'RepairCluster', operationId: 'op-2', now: NOW } as ClusterCommand,
  delete: { type: 'DeleteCluster', now: NOW } as ClusterCommand,
};

describe('cluster decider', () => {
  it('is created pending with a supported version; anything else is 400 naming the field', () => {
    spec(clusterDecider).given([]).when(C.create()).then([created]);
    spec(clusterDecider)
      .given([])
      .when(C.create({ version: 'v1.27.0' }))
      .thenThrows('validation_error', /version/);
    spec(clusterDecider)
      .given([])
      .when(C.create({ workers: -1 }))
      .thenThrows('validation_error', /workers/);
    spec(clusterDecider)
      .given([])
      .when(C.create({ workers: 51 }))
      .thenThrows('validation_error', /workers/);
    spec(clusterDecider)
      .given([])
      .when(C.create({ name: 'Bad Name' }))
      .thenThrows('validation_error', /name/);
    spec(clusterDecider)
      .given([])
      .when(C.create({ ha: 'yes' }))
      .thenThrows('validation_error', /ha/);
    spec(clusterDecider).given([created]).when(C.create()).thenThrows('conflict');
  });

  it('keeps the subnet its nodes are placed in; a cluster created before placement has none', () => {
    const stateAfter = (events: ClusterEvent[]) =>
      events.reduce(clusterDecider.evolve, clusterDecider.initialState());
    expect(stateAfter([created]).subnetId).toBe('subnet-1');
    const { subnetId: _absent, ...before } = created.data;
    expect(stateAfter([{ type: 'ClusterCreated', data: before }]).subnetId).toBeNull();
  });

  it('pending -> provisioning -> running; failed; records repeated are no-ops', () => {
    spec(clusterDecider)
      .given([created])
      .when({ type: 'RecordProvisioningStarted', now: NOW })
      .then([started]);
    spec(clusterDecider)
      .given([created, started])
      .when({
        type: 'RecordProvisioned',
        endpoint: 'https://10.0.0.5:6443',
        nodes: NODES,
        now: NOW,
      })
      .then([provisioned]);
    spec(clusterDecider)
      .given(running)
      .when({ type: 'RecordProvisioned', endpoint: 'x', nodes: [], now: NOW })
      .then([]);
    spec(clusterDecider)
      .given([created, started])
      .when({ type: 'RecordClusterFailed', message: 'no capacity', now: NOW })
      .thenState((s) =>
        expect(s).toMatchObject({ status: 'failed', failureMessage: 'no capacity' }),
      );
  });

  it('upgrade: only from running (409), one minor at a time and never down (400)', () => {
    spec(clusterDecider).given(running).when(C.upgrade('v1.30.0')).then([upgradeStarted]);
    spec(clusterDecider)
      .given(running)
      .when(C.upgrade('v1.29.10'))
      .thenState((s) => expect(s.status).toBe('upgrading'));
    spec(clusterDecider)
      .given(running)
      .when(C.upgrade('v1.31.0'))
      .thenThrows('validation_error', /one minor version/);
    spec(clusterDecider)
      .given(running)
      .when(C.upgrade('v1.28.15'))
      .thenThrows('validation_error', /not newer/);
    spec(clusterDecider)
      .given(running)
      .when(C.upgrade('v9.9.9'))
      .thenThrows('validation_error', /supported/);
    spec(clusterDecider).given([created]).when(C.upgrade('v1.30.0')).thenThrows('invalid_state');
    spec(clusterDecider)
      .given([...running, upgradeStarted])
      .when({ ...C.upgrade('v1.30.0'), upgradeId: 'u-2' } as ClusterCommand)
      .thenThrows('invalid_state');
    spec(clusterDecider)
      .given([...running, upgradeStarted])
      .when(C.upgrade('v1.30.0'))
      .then([]);
  });

  it('upgrade finished: running on success or cancel, upgrade_failed on failure', () => {
    const finish = (outcome: 'succeeded' | 'cancelled' | 'failed'): ClusterCommand => ({
      type: 'RecordUpgradeFinished',
      upgradeId: 'u-1',
      outcome,
      version: outcome === 'failed' ? 'v1.29.0' : 'v1.30.0',
      nodes: NODES,
      message: null,
      now: NOW,
    });
    spec(clusterDecider)
      .given([...running, upgradeStarted])
      .when(finish('succeeded'))
      .thenState((s) => expect(s).toMatchObject({ status: 'running', version: 'v1.30.0' }));
    spec(clusterDecider)
      .given([...running, upgradeStarted])
      .when(finish('cancelled'))
      .thenState((s) => expect(s.status).toBe('running'));
    spec(clusterDecider)
      .given([...running, upgradeStarted])
      .when(finish('failed'))
      .thenState((s) => expect(s).toMatchObject({ status: 'upgrade_failed', version: 'v1.29.0' }));
    spec(clusterDecider).given(running).when(finish('succeeded')).then([]);
  });

  it('scale and repair: from running, recorded once per operation, finished by the saga', () => {
    spec(clusterDecider)
      .given(running)
      .when(C.scale(3))
      .thenState((s) => expect(s).toMatchObject({ status: 'scaling', workers: 3 }));
    spec(clusterDecider)
      .given(running)
      .when(C.scale(1.5))
      .thenThrows('validation_error', /workers/);
    spec(clusterDecider).given([created]).when(C.scale(3)).thenThrows('invalid_state');
    spec(clusterDecider)
      .given([...running, upgradeStarted])
      .when(C.repair)
      .thenThrows('invalid_state');
    spec(clusterDecider)
      .given(running)
      .when(C.repair)
      .thenState((s) => expect(s.status).toBe('repairing'));
  });

  it('delete: refused while upgrading (409), idempotent, deleting -> deleted; then 404', () => {
    spec(clusterDecider)
      .given([...running, upgradeStarted])
      .when(C.delete)
      .thenThrows('invalid_state');
    const deleting: ClusterEvent = {
      type: 'ClusterDeletionStarted',
      data: { clusterId: ID, previousStatus: 'running', at: AT },
    };
    spec(clusterDecider).given(running).when(C.delete).then([deleting]);
    spec(clusterDecider)
      .given([...running, deleting])
      .when(C.delete)
      .then([]);
    const deleted: ClusterEvent = { type: 'ClusterDeleted', data: { clusterId: ID, at: AT } };
    spec(clusterDecider)
      .given([...running, deleting])
      .when({ type: 'RecordClusterDeleted', now: NOW })
      .then([deleted]);
    spec(clusterDecider)
      .given([...running, deleting, deleted])
      .when(C.delete)
      .thenThrows('not_found');
    spec(clusterDecider)
      .given([...running, deleting])
      .when({ type: 'RecordProvisioned', endpoint: 'x', nodes: [], now: NOW })
      .then([]);
  });

  it('restore: only from running (409), once per restore, back to running either way', () => {
    const restore: ClusterCommand = {
      type: 'StartRestore',
      restoreId: 'r-1',
      backupId: 'b-1',
      now: NOW,
    };
    const restoreStarted: ClusterEvent = {
      type: 'ClusterRestoreStarted',
      data: { clusterId: ID, restoreId: 'r-1', backupId: 'b-1', at: AT },
    };
    spec(clusterDecider).given(running).when(restore).then([restoreStarted]);
    spec(clusterDecider)
      .given([...running, restoreStarted])
      .when(restore)
      .then([]);
    spec(clusterDecider)
      .given([...running, restoreStarted])
      .when({ ...restore, restoreId: 'r-2' })
      .thenThrows('invalid_state');
    spec(clusterDecider)
      .given([...running, upgradeStarted])
      .when(restore)
      .thenThrows('invalid_state');
    spec(clusterDecider).given([created]).when(restore).thenThrows('invalid_state');
    // While restoring, nothing else starts: no scale, upgrade or delete.
    spec(clusterDecider)
      .given([...running, restoreStarted])
      .when(C.scale(2))
      .thenThrows('invalid_state');
    spec(clusterDecider)
      .given([...running, restoreStarted])
      .when(C.upgrade('v1.30.0'))
      .thenThrows('invalid_state');
    spec(clusterDecider)
      .given([...running, restoreStarted])
      .when(C.delete)
      .thenThrows('invalid_state');
    const finish = (error: string | null): ClusterCommand => ({
      type: 'RecordRestoreFinished',
      restoreId: 'r-1',
      error,
      now: NOW,
    });
    spec(clusterDecider)
      .given([...running, restoreStarted])
      .when(finish(null))
      .then([
        {
          type: 'ClusterRestoreFinished',
          data: { clusterId: ID, restoreId: 'r-1', backupId: 'b-1', error: null, at: AT },
        },
      ]);
    spec(clusterDecider)
      .given([...running, restoreStarted])
      .when(finish('etcd did not come back'))
      .thenState((s) =>
        expect(s).toMatchObject({
          status: 'running',
          restore: null,
          lastRestore: { id: 'r-1', backupId: 'b-1', error: 'etcd did not come back' },
        }),
      );
    spec(clusterDecider).given(running).when(finish(null)).then([]);
  });

  it('upgrade paths', () => {
    expect(upgradePathProblem('v1.29.0', 'v1.30.6')).toBeNull();
    expect(upgradePathProblem('v1.29.0', 'v1.29.10')).toBeNull();
    expect(upgradePathProblem('v1.29.0', 'v1.29.0')).toMatch(/not newer/);
    expect(upgradePathProblem('v1.29.0', 'v2.0.0')).toMatch(/major/);
  });
});
