import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';

import { CLUSTERS_PROJECTION } from '../../../../projections/clusters';
import {
  CLUSTER_PROVISION_SAGA,
  type ClusterSagaInput,
} from '../../../../sagas/cluster-lifecycle/cluster-lifecycle.saga';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import { AppError } from '../../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import { vpcDecider, vpcVisibleTo } from '../../../network/domain';
import { INSTANCE_NETWORK, type InstanceNetwork } from '../../../network/ports/instance-network';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { QuotaService } from '../../../platform/quotas/quota.service';
import { clusterDecider, type CreateCluster as CreateClusterCommand } from '../../domain';
import { CLUSTER_DRIVER, type ClusterDriver } from '../../ports/kubernetes';
import { CLUSTER_QUOTA } from '../cluster-quotas';

export interface ClusterChanged {
  clusterId: string;
}

export interface CreateClusterBody {
  name: unknown;
  vpc_id: string;
  subnet_id?: string;
  version: unknown;
  workers: unknown;
  ha: unknown;
}

/**
 * POST /clusters: validated (400 naming the field, unsupported versions included) before anything
 * is written; the VPC must be the caller's (404 otherwise, read from the VPC's own stream); the
 * subnet its nodes' NICs go in: `subnet_id` (the caller's, in that VPC) or the VPC's first subnet
 * (409 when it has none and the driver runs nodes on the VPC; null otherwise); the tenant's
 * `clusters` quota (403 quota_exceeded); recorded `pending`, then the provisioning saga.
 */
export class CreateCluster extends UseCaseCommand<ClusterChanged> {
  constructor(
    readonly body: CreateClusterBody,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateCluster)
export class CreateClusterHandler extends UseCaseHandler<CreateCluster, ClusterChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly sagas: SagaLauncher,
    private readonly quotas: QuotaService,
    @Inject(INSTANCE_NETWORK) private readonly network: InstanceNetwork,
    @Inject(CLUSTER_DRIVER) private readonly driver: ClusterDriver,
  ) {
    super();
  }

  /** The subnet of the nodes' NICs (see the class comment). */
  private async subnetOf(body: CreateClusterBody, ctx: CommandContext): Promise<string | null> {
    const request = { tenantId: tenantOf(ctx), vpcId: body.vpc_id };
    if (body.subnet_id !== undefined) {
      return (await this.network.place({ ...request, subnetId: body.subnet_id }, ctx)).subnetId;
    }
    try {
      return (await this.network.place({ ...request, subnetId: null }, ctx)).subnetId;
    } catch (error) {
      if (error instanceof AppError && error.code === 'invalid_state') {
        if (this.driver.nodesInVpc) throw error;
        return null;
      }
      throw error;
    }
  }

  protected async handle({ body, ctx }: CreateCluster): Promise<Handled<ClusterChanged>> {
    const tenantId = tenantOf(ctx);
    const clusterId = uuidV5(`cluster/${ctx.commandId}`);
    const command: CreateClusterCommand = {
      type: 'CreateCluster',
      clusterId,
      tenantId,
      name: body.name,
      vpcId: body.vpc_id,
      subnetId: null,
      version: body.version,
      workers: body.workers,
      ha: body.ha,
      now: ctx.now,
    };
    // Every 400 before the VPC look-up and the quota, so a rejected request writes nothing.
    clusterDecider.decide(command, clusterDecider.initialState());
    if (!isUuid(body.vpc_id)) throw AppError.notFound('vpc', body.vpc_id);
    const vpc = (await this.executor.load(vpcDecider, body.vpc_id)).state;
    if (!vpcVisibleTo(vpc, tenantId)) throw AppError.notFound('vpc', body.vpc_id);
    command.subnetId = await this.subnetOf(body, ctx);
    await this.quotas.reserve(
      tenantId,
      { id: clusterId, kind: 'cluster' },
      { [CLUSTER_QUOTA]: 1 },
      ctx,
    );
    const result = await this.executor
      .execute(clusterDecider, clusterId, command, ctx, { expectNew: true })
      .catch(async (error: unknown) => {
        await this.quotas.release(tenantId, clusterId, ctx).catch(() => undefined);
        throw error;
      });
    const input: ClusterSagaInput = { clusterId, tenantId };
    await this.sagas.start(CLUSTER_PROVISION_SAGA, clusterId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return { result: { clusterId }, written: [written(result.position, CLUSTERS_PROJECTION)] };
  }
}
