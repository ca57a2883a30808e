import { Inject } from '@nestjs/common';
import { Command, type ICommandHandler } from '@nestjs/cqrs';
import type { CommandContext } from '../../kernel/command-context';
import type { Position } from '../../kernel/position';
import { AppError } from '../../common/errors/app-error';

/** Something a use case appended that the caller's next read depends on. */
export interface Written {
  /** Global position of the last event appended; null when nothing was appended. */
  position: Position | null;
  /** The projections (read models) the next read of the result goes through. */
  projections: readonly string[];
}

/** What the command bus answers for a use-case command. */
export interface Outcome<T> {
  readonly result: T;
  /** True when every projection named by the use case's writes has applied them in time. */
  readonly caughtUp: boolean;
}

/**
 * What a handler's `handle` returns: its result and the writes to read back before answering; or
 * a rejection to throw once its writes are readable (a reused refresh token: the revocation must
 * hold on the very next request, and the answer is still 401).
 */
export type Handled<T> =
  { result: T; written: readonly Written[] } | { rejected: Error; written: readonly Written[] };

/** Waits (bounded by NIMBUS_READ_YOUR_WRITES_TIMEOUT_MS) until the named projections have the writes. */
export interface ReadYourWrites {
  reached(written: readonly Written[]): Promise<boolean>;
}

/** Provided by ProjectionsModule; every use case's answer goes through it (UseCaseHandler). */
export const READ_YOUR_WRITES = Symbol('READ_YOUR_WRITES');

/**
 * A use case's command: a typed message dispatched on the `CommandBus` whose answer is
 * `Outcome<T>`. It carries who asks (`ctx`, built once per request by `@Ctx()`, with the command id
 * derived from the `Idempotency-Key`), so every event it appends has stable ids and metadata.
 *
 *   export class StopInstance extends UseCaseCommand<InstanceWrite> { ... }
 *   const { result, caughtUp } = await commandBus.execute(new StopInstance(id, ctx));
 */
export abstract class UseCaseCommand<T> extends Command<Outcome<T>> {
  constructor(readonly ctx: CommandContext) {
    super();
  }
}

/**
 * The one way a use case answers: `handle` loads, decides and appends (through CommandExecutor),
 * then the caller waits once, here, for the read models its writes name. Subclasses are
 * `@CommandHandler(TheCommand)` providers of their context's module.
 */
export abstract class UseCaseHandler<C extends UseCaseCommand<T>, T> implements ICommandHandler<
  UseCaseCommand<T>
> {
  @Inject(READ_YOUR_WRITES) private readonly readYourWrites!: ReadYourWrites;

  async execute(command: C): Promise<Outcome<T>> {
    const handled = await this.handle(command);
    const caughtUp = await this.readYourWrites.reached(handled.written);
    if ('rejected' in handled) throw handled.rejected;
    return { result: handled.result, caughtUp };
  }

  protected abstract handle(command: C): Promise<Handled<T>>;
}

/** One write to read back: `written(result.position, INSTANCES_PROJECTION)`. */
export function written(position: Position | null, ...projections: string[]): Written {
  return { position, projections };
}

/** The tenant a command acts in; a caller without one (a user between tenants) is 403. */
export function tenantOf(ctx: CommandContext): string {
  if (!ctx.tenantId) throw new AppError('forbidden', 'this route needs a tenant');
  return ctx.tenantId;
}
