import { describe, expect, it } from 'vitest';

import { spec } from '../../../test/support/decider-spec';
import { backupDecider, backupVisibleTo, type BackupEvent, type SnapshotFacts } from './backup';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const SNAPSHOT: SnapshotFacts = {
  sizeBytes: 20512,
  sha256: 'a'.repeat(64),
  revision: 7,
  totalKeys: 9,
  contentSha256: 'b'.repeat(64),
};

const requested: BackupEvent = {
  type: 'ClusterBackupRequested',
  data: { backupId: 'b-1', clusterId: 'c-1', tenantId: 't-1', at: AT },
};
const completed: BackupEvent = {
  type: 'ClusterBackupCompleted',
  data: { backupId: 'b-1', clusterId: 'c-1', snapshot: SNAPSHOT, durationMs: 120, at: AT },
};
const failed: BackupEvent = {
  type: 'ClusterBackupFailed',
  data: { backupId: 'b-1', clusterId: 'c-1', message: 'etcd unreachable', at: AT },
};
const deleting: BackupEvent = {
  type: 'ClusterBackupDeletionStarted',
  data: { backupId: 'b-1', clusterId: 'c-1', at: AT },
};
const deleted: BackupEvent = {
  type: 'ClusterBackupDeleted',
  data: { backupId: 'b-1', clusterId: 'c-1', at: AT },
};
const request = {
  type: 'RequestBackup' as const,
  backupId: 'b-1',
  clusterId: 'c-1',
  tenantId: 't-1',
  now: NOW,
};

describe('cluster backup decider', () => {
  it('is requested once (a repeat of the same id is a no-op), creating', () => {
    spec(backupDecider).given([]).when(request).then([requested]);
    spec(backupDecider).given([requested]).when(request).then([]);
    spec(backupDecider)
      .given([])
      .when(request)
      .thenState((s) => expect(s).toMatchObject({ status: 'creating', clusterId: 'c-1' }));
  });

  it('creating -> available with the snapshot facts, or failed with the reason; once', () => {
    const complete = {
      type: 'RecordBackupCompleted' as const,
      snapshot: SNAPSHOT,
      durationMs: 120,
      now: NOW,
    };
    spec(backupDecider).given([requested]).when(complete).then([completed]);
    spec(backupDecider)
      .given([requested])
      .when(complete)
      .thenState((s) => expect(s).toMatchObject({ status: 'available', snapshot: SNAPSHOT }));
    spec(backupDecider).given([requested, completed]).when(complete).then([]);
    spec(backupDecider)
      .given([requested])
      .when({ type: 'RecordBackupFailed', message: 'etcd unreachable', now: NOW })
      .then([failed]);
    spec(backupDecider)
      .given([requested, completed])
      .when({ type: 'RecordBackupFailed', message: 'late', now: NOW })
      .then([]);
    spec(backupDecider)
      .given([])
      .when({ type: 'RecordBackupFailed', message: 'x', now: NOW })
      .thenThrows('not_found');
  });

  it('delete: refused while being taken (409), from available or failed, idempotent; then 404', () => {
    const del = { type: 'DeleteBackup' as const, now: NOW };
    spec(backupDecider).given([requested]).when(del).thenThrows('invalid_state');
    spec(backupDecider).given([requested, completed]).when(del).then([deleting]);
    spec(backupDecider).given([requested, failed]).when(del).then([deleting]);
    spec(backupDecider).given([requested, completed, deleting]).when(del).then([]);
    spec(backupDecider)
      .given([requested, completed, deleting])
      .when({ type: 'RecordBackupDeleted', now: NOW })
      .then([deleted]);
    spec(backupDecider)
      .given([requested, completed, deleting, deleted])
      .when({ type: 'RecordBackupDeleted', now: NOW })
      .then([]);
    spec(backupDecider)
      .given([requested, completed, deleting, deleted])
      .when(del)
      .thenThrows('not_found');
    spec(backupDecider)
      .given([requested, completed])
      .when({ type: 'RecordBackupDeleted', now: NOW })
      .thenThrows('invalid_state');
  });

  it('is visible to its tenant, under its own cluster, until deleted', () => {
    const fold = (events: BackupEvent[]) =>
      events.reduce(backupDecider.evolve, backupDecider.initialState());
    expect(backupVisibleTo(fold([requested, completed]), 't-1', 'c-1')).toBe(true);
    expect(backupVisibleTo(fold([requested, completed]), 't-2', 'c-1')).toBe(false);
    expect(backupVisibleTo(fold([requested, completed]), 't-1', 'c-2')).toBe(false);
    expect(backupVisibleTo(fold([requested, completed, deleting, deleted]), 't-1', 'c-1')).toBe(
      false,
    );
  });
});
