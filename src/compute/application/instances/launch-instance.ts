import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';
import { INSTANCES_PROJECTION } from '../../../../projections/compute';
import {
  INSTANCE_LAUNCH_SAGA,
  type InstanceLaunchInput,
} from '../../../../sagas/instance-launch/instance-launch.saga';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import { AppError } from '../../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import { INSTANCE_NETWORK, type InstanceNetwork } from '../../../network/ports/instance-network';
import type { CommandContext } from '../../../kernel/command-context';
import type { Position } from '../../../kernel/position';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  tenantOf,
  type Handled,
} from '../../../platform/commands/use-case';
import {
  imageDecider,
  initialInstanceState,
  instanceDecider,
  launchImageFrom,
  parsePorts,
  resolveImageName,
  resolveInstanceType,
  volumeDecider,
  volumeVisibleTo,
  type LaunchInstance as LaunchDecision,
  type Tags,
  type VolumeMount,
} from '../../domain';
import { ComputeQueries } from '../compute-queries';
import { PublishedPorts } from '../published-ports';
import { InstanceOperations, type InstanceChanged } from './instance-operations';

export interface LaunchRequest {
  name: string;
  image: string;
  instance_type: string;
  vpc_id?: string | null;
  subnet_id?: string | null;
  ports?: string | null;
  volumes?: Array<{ volume_id: string; mount_path: string }>;
  user_data?: string | null;
  tags?: Tags;
}

/** POST /instances: records the launch, reserves quota and starts the launch saga. */
export class LaunchInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly request: LaunchRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(LaunchInstance)
export class LaunchInstanceHandler extends UseCaseHandler<LaunchInstance, InstanceChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly queries: ComputeQueries,
    private readonly instances: InstanceOperations,
    private readonly sagas: SagaLauncher,
    @Inject(INSTANCE_NETWORK) private readonly network: InstanceNetwork,
    private readonly published: PublishedPorts,
  ) {
    super();
  }

  protected async handle({ request, ctx }: LaunchInstance): Promise<Handled<InstanceChanged>> {
    const tenantId = tenantOf(ctx);
    const instanceType = resolveInstanceType(request.instance_type);
    const ports = parsePorts(request.ports ?? null);
    const image = await this.resolveImage(request.image, tenantId);
    const volumes: VolumeMount[] = [];
    for (const [index, v] of (request.volumes ?? []).entries()) {
      if (!isUuid(v.volume_id)) throw AppError.notFound('volume', v.volume_id);
      const { state } = await this.executor.load(volumeDecider, v.volume_id);
      if (!volumeVisibleTo(state, tenantId)) throw AppError.notFound('volume', v.volume_id);
      if (state.attachment) {
        throw AppError.invalidState(
          `volume ${v.volume_id} is IN_USE (attached to instance ${state.attachment.instanceId}); attach needs AVAILABLE`,
          { path: `volumes[${index}].volume_id`, status: state.status },
        );
      }
      volumes.push({ volumeId: v.volume_id, mountPath: v.mount_path });
    }
    const taken = await this.queries.hostPortsInUse(ports.map((p) => p.host));
    if (taken.length > 0) {
      throw new AppError('conflict', `host port ${taken[0].port} is already in use`, {
        field: 'ports',
        port: taken[0].port,
      });
    }
    for (const { host } of ports) {
      if (!(await this.published.hostPortFree(host))) {
        throw new AppError(
          'conflict',
          `host port ${host} is already in use by another program on this host`,
          { field: 'ports', port: host },
        );
      }
    }
    // The instance id derives from the command id: a request retried with its Idempotency-Key
    // launches the same instance again, which is a no-op.
    const instanceId = uuidV5(`instance/${ctx.commandId}`);
    const unplaced: LaunchDecision = {
      type: 'LaunchInstance',
      instanceId,
      tenantId,
      name: request.name,
      image,
      instanceType,
      vpcId: null,
      subnetId: null,
      ports,
      volumes,
      userData: request.user_data ?? null,
      tags: request.tags ?? {},
      now: ctx.now,
    };
    // Every 400 before any quota is spent or any default VPC is made.
    instanceDecider.decide(unplaced, initialInstanceState());
    // A VPC or subnet the caller cannot see is 404; naming neither puts the instance in the
    // tenant's default VPC (created on first use, the only effect before the quota check).
    const placement = await this.network.place(
      { tenantId, vpcId: request.vpc_id ?? null, subnetId: request.subnet_id ?? null },
      ctx,
    );
    const command: LaunchDecision = { ...unplaced, ...placement };

    await this.instances.reserveQuota(tenantId, instanceId, instanceType, ctx);
    let position: Position | null = null;
    try {
      const result = await this.executor.execute(instanceDecider, instanceId, command, ctx);
      position = result.position;
    } catch (error) {
      // A retried request (same Idempotency-Key) finds its instance launched already.
      const retried = error instanceof AppError && error.code === 'conflict';
      if (!retried) {
        await this.instances.releaseQuota(tenantId, instanceId, ctx).catch(() => undefined);
        throw error;
      }
    }
    const input: InstanceLaunchInput = { instanceId, tenantId };
    await this.sagas.start(INSTANCE_LAUNCH_SAGA, instanceId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return { result: { instanceId }, written: [written(position, INSTANCES_PROJECTION)] };
  }

  private async resolveImage(image: string, tenantId: string) {
    if (typeof image !== 'string' || image.trim() === '') {
      throw AppError.validation('image is required', [{ path: 'image', message: 'is required' }]);
    }
    const id = isUuid(image) ? image : await this.imageIdByName(image, tenantId);
    if (!id) {
      throw AppError.validation(`unknown image "${image}"`, [
        { path: 'image', message: 'unknown image' },
      ]);
    }
    const { state } = await this.executor.load(imageDecider, id);
    return launchImageFrom(state, tenantId);
  }

  /** See resolveImageName: system image, else own, else the only public one of that name. */
  private async imageIdByName(name: string, tenantId: string): Promise<string | null> {
    const resolved = resolveImageName(await this.queries.imagesNamed(tenantId, name), tenantId);
    if (resolved.kind === 'ambiguous') {
      throw new AppError(
        'ambiguous_image',
        `the image name "${name}" matches public images of several tenants (${resolved.ids.join(', ')}); launch by image id`,
        { name, candidates: resolved.ids },
      );
    }
    return resolved.kind === 'found' ? resolved.id : null;
  }
}
