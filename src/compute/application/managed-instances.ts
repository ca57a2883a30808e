import { Injectable } from '@nestjs/common';

import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import { instanceDecider } from '../domain/instance';
import type { ManagedInstances, ManagedMachine } from '../ports/managed-instances';
import { ComputeLocks } from './instances/instance-operations';

/** `ManagedInstances` on the instance decider, under the instance's lock. */
@Injectable()
export class ManagedInstanceRecords implements ManagedInstances {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly locks: ComputeLocks,
  ) {}

  async register(machine: ManagedMachine, ctx: CommandContext): Promise<void> {
    await this.locks.instance.run(machine.instanceId, () =>
      this.executor.execute(
        instanceDecider,
        machine.instanceId,
        { type: 'RegisterManagedInstance', ...machine, now: ctx.now },
        ctx,
      ),
    );
  }

  async remove(instanceId: string, ctx: CommandContext): Promise<void> {
    await this.locks.instance.run(instanceId, async () => {
      try {
        await this.executor.execute(
          instanceDecider,
          instanceId,
          { type: 'RecordManagedInstanceRemoved', now: ctx.now },
          ctx,
        );
      } catch (error) {
        // Never registered (a crash before it, or a machine made before instances were kept).
        if (error instanceof AppError && error.code === 'not_found') return;
        throw error;
      }
    });
  }
}
