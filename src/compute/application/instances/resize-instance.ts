import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';
import { INSTANCES_PROJECTION } from '../../../../projections/compute';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../../drivers/docker/compute-driver';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  written,
  tenantOf,
  type Handled,
  type Written,
} from '../../../platform/commands/use-case';
import {
  dockerResourceLimits,
  instanceDecider,
  resolveInstanceType,
  type InstanceCommand,
} from '../../domain';
import {
  ComputeLocks,
  engineCall,
  hostCpus,
  InstanceOperations,
  type InstanceChanged,
} from './instance-operations';

/** POST /instances/:id/resize: quota for the new type, the container's limits updated live. */
export class ResizeInstance extends UseCaseCommand<InstanceChanged> {
  constructor(
    readonly instanceId: string,
    readonly instanceType: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(ResizeInstance)
export class ResizeInstanceHandler extends UseCaseHandler<ResizeInstance, InstanceChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly locks: ComputeLocks,
    private readonly instances: InstanceOperations,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
  ) {
    super();
  }

  protected handle({
    instanceId,
    instanceType,
    ctx,
  }: ResizeInstance): Promise<Handled<InstanceChanged>> {
    const tenantId = tenantOf(ctx);
    const done = (position: Written['position']): Handled<InstanceChanged> => ({
      result: { instanceId },
      written: [written(position, INSTANCES_PROJECTION)],
    });
    return this.locks.instance.run(instanceId, async () => {
      const state = await this.instances.loadOwned(instanceId, tenantId);
      const type = resolveInstanceType(instanceType);
      const command: InstanceCommand = { type: 'ResizeInstance', instanceType: type, now: ctx.now };
      if (instanceDecider.decide(command, state).length === 0) return done(null);
      const old = state.instanceType;
      const reserve = (size: { vcpus: number; memoryMb: number }) =>
        this.instances.reserveQuota(tenantId, instanceId, size, ctx);
      await reserve(type);
      try {
        const next = dockerResourceLimits(type, { hostCpus: hostCpus() });
        await engineCall(() =>
          this.driver.update(instanceId, {
            NanoCpus: next.NanoCpus,
            Memory: next.Memory,
            MemorySwap: next.MemorySwap,
          }),
        );
      } catch (error) {
        if (old) await reserve(old).catch(() => undefined);
        throw error;
      }
      const result = await this.executor.execute(instanceDecider, instanceId, command, ctx);
      return done(result.position);
    });
  }
}
