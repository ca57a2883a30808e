import { CreateClusterBackupHandler, DeleteClusterBackupHandler } from './cluster-backups';
import { DeleteClusterHandler, RepairClusterHandler, ScaleClusterHandler } from './change-cluster';
import { CreateClusterHandler } from './create-cluster';
import { RestoreClusterHandler } from './restore-cluster';
import { CancelClusterUpgradeHandler, UpgradeClusterHandler } from './upgrade-cluster';

export { CreateClusterBackup, DeleteClusterBackup, type BackupChanged } from './cluster-backups';
export { RestoreCluster } from './restore-cluster';
export { DeleteCluster, RepairCluster, ScaleCluster } from './change-cluster';
export { CreateCluster, type ClusterChanged, type CreateClusterBody } from './create-cluster';
export { CancelClusterUpgrade, UpgradeCluster, type UpgradeStarted } from './upgrade-cluster';

/** The clusters use cases' handlers (providers of ClustersModule). */
export const CLUSTER_USE_CASES = [
  CreateClusterHandler,
  DeleteClusterHandler,
  ScaleClusterHandler,
  RepairClusterHandler,
  UpgradeClusterHandler,
  CancelClusterUpgradeHandler,
  CreateClusterBackupHandler,
  DeleteClusterBackupHandler,
  RestoreClusterHandler,
];
