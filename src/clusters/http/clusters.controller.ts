import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { setEtag } from '../../common/etag';
import { parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import { RequireAction } from '../../identity/auth/decorators';
import type { CommandContext } from '../../kernel/command-context';
import type { Outcome } from '../../platform/commands/use-case';
import { afterWrite } from '../../platform/http/after-write';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { CallerTenant } from '../../platform/http/caller';
import { ClusterQueries } from '../application/cluster-queries';
import {
  CancelClusterUpgrade,
  CreateCluster,
  CreateClusterBackup,
  DeleteCluster,
  DeleteClusterBackup,
  RestoreCluster,
  type BackupChanged,
  RepairCluster,
  ScaleCluster,
  UpgradeCluster,
  type ClusterChanged,
  type UpgradeStarted,
} from '../application/use-cases';
import { SUPPORTED_VERSIONS } from '../domain';
import {
  CreateClusterDto,
  ListClusterBackupsQuery,
  ListClustersQuery,
  RestoreClusterDto,
  ScaleClusterDto,
  UpgradeClusterDto,
} from './dto';
import {
  ClusterBackupSchema,
  ClusterHealthSchema,
  ClusterSchema,
  ClusterUpgradeSchema,
  ClusterVersionsSchema,
  KubeconfigSchema,
} from './schemas';

const CLUSTER = { type: 'cluster', param: 'id', service: 'clusters' };

/** The IAM action of a clusters route; its resource is `arn:nimbus:clusters:<tenant>:cluster/<id>`. */
function ClusterAction(action: string, description: string, onCluster = true): MethodDecorator {
  return RequireAction(action, { description, ...(onCluster ? { resource: CLUSTER } : {}) });
}

@ApiTags('services')
@Controller()
export class ClustersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: ClusterQueries,
  ) {}

  private accepted(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<ClusterChanged>,
    includeDeleted = false,
  ) {
    const { clusterId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/clusters/${clusterId}`,
      status: 202,
      read: () => this.queries.cluster(tenantId, clusterId, includeDeleted),
      id: clusterId,
    });
  }

  private backupAccepted(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<BackupChanged>,
    includeDeleted = false,
  ) {
    const { clusterId, backupId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/clusters/${clusterId}/backups/${backupId}`,
      status: 202,
      read: () => this.queries.backup(tenantId, clusterId, backupId, includeDeleted),
      id: backupId,
    });
  }

  @Get('cluster-versions')
  @ClusterAction('clusters:read', 'Read the Kubernetes versions clusters can run', false)
  @ApiOperationFor({
    id: 'listClusterVersions',
    summary: 'The Kubernetes versions a cluster can be created with or upgraded to',
    response: ClusterVersionsSchema,
  })
  versions() {
    return {
      versions: [...SUPPORTED_VERSIONS],
      default: SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1],
      upgrade_rule: 'one minor version at a time, never down',
    };
  }

  @Get('clusters')
  @ClusterAction('clusters:list', 'List Kubernetes clusters', false)
  @ApiOperationFor({
    id: 'listClusters',
    summary: 'Your Kubernetes clusters, oldest first (cursor pagination)',
    response: ClusterSchema,
    page: true,
    errors: ['validation_error'],
  })
  list(@CallerTenant() tenantId: string, @Query() query: ListClustersQuery) {
    return this.queries.clusters(tenantId, parsePage(query));
  }

  @Post('clusters')
  @ClusterAction('clusters:create', 'Create a Kubernetes cluster', false)
  @ApiOperationFor({
    id: 'createCluster',
    summary:
      'Create a Kubernetes cluster in one of your VPCs: 202 `pending`, then `provisioning` and `running` (or `failed`). An unsupported version is 400',
    status: 202,
    response: ClusterSchema,
    errors: ['validation_error', 'not_found', 'quota_exceeded'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Body() body: CreateClusterDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateCluster(body, ctx));
    return this.accepted(reply, tenantId, outcome);
  }

  @Get('clusters/:id')
  @ClusterAction('clusters:get', 'Describe a Kubernetes cluster')
  @ApiOperationFor({
    id: 'getCluster',
    summary: 'Describe a cluster: status, version, nodes',
    response: ClusterSchema,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.cluster(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Delete('clusters/:id')
  @HttpCode(202)
  @ClusterAction('clusters:delete', 'Delete a Kubernetes cluster')
  @ApiOperationFor({
    id: 'deleteCluster',
    summary: 'Delete a cluster: 202 `deleting`, then gone. Refused (409) while an upgrade runs',
    status: 202,
    response: ClusterSchema,
    errors: ['not_found', 'invalid_state'],
  })
  async delete(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new DeleteCluster(id, ctx));
    // The teardown may be over before the answer is read: it shows `deleted` then.
    return this.accepted(reply, tenantId, outcome, true);
  }

  @Get('clusters/:id/kubeconfig')
  @ClusterAction('clusters:kubeconfig', 'Download the admin kubeconfig of a cluster')
  @ApiOperationFor({
    id: 'getClusterKubeconfig',
    summary:
      'The admin kubeconfig (needs the `clusters:kubeconfig` action; viewers do not have it). Never cached',
    response: KubeconfigSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  async kubeconfig(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    void reply.header('cache-control', 'no-store');
    return { cluster_id: id, kubeconfig: await this.queries.kubeconfig(tenantId, id) };
  }

  @Get('clusters/:id/health')
  @ClusterAction('clusters:get', 'Describe a Kubernetes cluster')
  @ApiOperationFor({
    id: 'getClusterHealth',
    summary: 'Live health: API server reachable, nodes Ready, kubelet versions',
    response: ClusterHealthSchema,
    errors: ['not_found'],
  })
  health(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.queries.health(tenantId, id);
  }

  @Post('clusters/:id/scale')
  @HttpCode(202)
  @ClusterAction('clusters:scale', 'Change the number of workers of a cluster')
  @ApiOperationFor({
    id: 'scaleCluster',
    summary: 'Scale the workers: 202 `scaling`, then `running`. Only from `running` (409)',
    status: 202,
    response: ClusterSchema,
    errors: ['validation_error', 'not_found', 'invalid_state'],
  })
  async scale(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: ScaleClusterDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new ScaleCluster(id, body.workers, ctx));
    return this.accepted(reply, tenantId, outcome);
  }

  @Post('clusters/:id/repair')
  @HttpCode(202)
  @ClusterAction('clusters:repair', 'Re-run the bootstrap on the failed nodes of a cluster')
  @ApiOperationFor({
    id: 'repairCluster',
    summary: 'Re-run the bootstrap on nodes that are not Ready: 202 `repairing`, then `running`',
    status: 202,
    response: ClusterSchema,
    errors: ['not_found', 'invalid_state'],
  })
  async repair(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new RepairCluster(id, ctx));
    return this.accepted(reply, tenantId, outcome);
  }

  @Post('clusters/:id/upgrade')
  @HttpCode(202)
  @ClusterAction('clusters:upgrade', 'Upgrade the Kubernetes version of a cluster')
  @ApiOperationFor({
    id: 'upgradeCluster',
    summary:
      'Upgrade: control plane first (rolled back if it fails), then workers in batches of max_unavailable: cordon, drain through the Eviction API (PodDisruptionBudgets respected), upgrade, health gate, uncordon. Only from `running` (409); one minor version at a time (400)',
    status: 202,
    response: ClusterUpgradeSchema,
    errors: ['validation_error', 'not_found', 'invalid_state'],
  })
  async upgrade(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: UpgradeClusterDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome: Outcome<UpgradeStarted> = await this.commands.execute(
      new UpgradeCluster(
        id,
        body.version,
        {
          maxUnavailable: body.max_unavailable ?? 1,
          maxFailedNodes: body.max_failed_nodes ?? 0,
          drainTimeoutSeconds: body.drain_timeout_seconds ?? 300,
          healthTimeoutSeconds: body.health_timeout_seconds ?? 600,
          force: body.force ?? false,
        },
        ctx,
      ),
    );
    void reply.header('location', `/clusters/${id}/upgrade`);
    return this.queries.upgrade(tenantId, outcome.result.clusterId);
  }

  @Get('clusters/:id/upgrade')
  @ClusterAction('clusters:get', 'Describe a Kubernetes cluster')
  @ApiOperationFor({
    id: 'getClusterUpgrade',
    summary: 'Progress of the running (or last) upgrade, per node',
    response: ClusterUpgradeSchema,
    errors: ['not_found'],
  })
  upgradeProgress(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.queries.upgrade(tenantId, id);
  }

  @Post('clusters/:id/upgrade/cancel')
  @HttpCode(202)
  @ClusterAction('clusters:upgrade', 'Upgrade the Kubernetes version of a cluster')
  @ApiOperationFor({
    id: 'cancelClusterUpgrade',
    summary:
      'Stop the running upgrade after the node in flight: nodes not yet upgrading are uncordoned; the cluster ends `running`. No upgrade running: 409',
    status: 202,
    response: ClusterUpgradeSchema,
    errors: ['not_found', 'invalid_state'],
  })
  async cancelUpgrade(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
  ) {
    await this.commands.execute(new CancelClusterUpgrade(id, ctx));
    return this.queries.upgrade(tenantId, id);
  }

  @Post('clusters/:id/backups')
  @HttpCode(202)
  @ClusterAction('clusters:backup', "Take a backup of a cluster's etcd")
  @ApiOperationFor({
    id: 'createClusterBackup',
    summary:
      "Back up the cluster's etcd (`etcdctl snapshot save`): 202 `creating`, then `available` with the snapshot's size, sha256 and etcd revision (or `failed`). Needs etcd running (409 while the cluster is pending, provisioning, failed, restoring or deleting)",
    status: 202,
    response: ClusterBackupSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  async createBackup(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new CreateClusterBackup(id, ctx));
    return this.backupAccepted(reply, tenantId, outcome);
  }

  @Get('clusters/:id/backups')
  @ClusterAction('clusters:get', 'Describe a Kubernetes cluster')
  @ApiOperationFor({
    id: 'listClusterBackups',
    summary: "The cluster's etcd backups, oldest first (cursor pagination)",
    response: ClusterBackupSchema,
    page: true,
    errors: ['validation_error', 'not_found'],
  })
  listBackups(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Query() query: ListClusterBackupsQuery,
  ) {
    return this.queries.backups(tenantId, id, parsePage(query));
  }

  @Get('clusters/:id/backups/:backupId')
  @ClusterAction('clusters:get', 'Describe a Kubernetes cluster')
  @ApiOperationFor({
    id: 'getClusterBackup',
    summary: 'Describe an etcd backup: status, size, sha256, revision',
    response: ClusterBackupSchema,
    errors: ['not_found'],
  })
  async getBackup(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Param('backupId') backupId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.backup(tenantId, id, backupId);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Delete('clusters/:id/backups/:backupId')
  @HttpCode(202)
  @ClusterAction('clusters:deleteBackup', "Delete a backup of a cluster's etcd")
  @ApiOperationFor({
    id: 'deleteClusterBackup',
    summary:
      'Delete a backup and its snapshot file: 202 `deleting`, then gone. 409 while it is being taken or restored',
    status: 202,
    response: ClusterBackupSchema,
    errors: ['not_found', 'invalid_state'],
  })
  async deleteBackup(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Param('backupId') backupId: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new DeleteClusterBackup(id, backupId, ctx));
    return this.backupAccepted(reply, tenantId, outcome, true);
  }

  @Post('clusters/:id/restore')
  @HttpCode(202)
  @ClusterAction('clusters:restore', "Restore a cluster's etcd from one of its backups")
  @ApiOperationFor({
    id: 'restoreCluster',
    summary:
      "Restore the cluster's etcd from one of its `available` backups: 202 `restoring` (`etcdctl snapshot restore` into a fresh data directory, etcd restarted on it, verified at the backup's revision and content), then `running`; a failed restore keeps etcd's previous data and says why in `last_restore.error`. Only from `running` (409); another cluster's backup is 404",
    status: 202,
    response: ClusterSchema,
    errors: ['validation_error', 'not_found', 'invalid_state'],
  })
  async restore(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: RestoreClusterDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.commands.execute(new RestoreCluster(id, body.backup_id, ctx));
    return this.accepted(reply, tenantId, outcome);
  }
}
