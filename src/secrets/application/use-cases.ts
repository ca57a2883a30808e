import { CommandHandler } from '@nestjs/cqrs';

import { SECRETS_PROJECTION } from '../../../projections/secrets';
import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../platform/commands/use-case';
import { secretDecider, validateSecretName, type SecretState } from '../domain';
import { secretIdFor, SecretsService } from './secrets.service';

export interface SecretChanged {
  secretId: string;
}

/** POST /secrets: a name unique in the tenant (409 conflict), the value sealed before any event. */
export class CreateSecret extends UseCaseCommand<SecretChanged> {
  constructor(
    readonly input: { name: string; value: string; description?: string },
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** POST /secrets/:id/rotate: a new version with a new value. */
export class RotateSecret extends UseCaseCommand<SecretChanged> {
  constructor(
    readonly secretId: string,
    readonly value: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** DELETE /secrets/:id. */
export class DeleteSecret extends UseCaseCommand<SecretChanged> {
  constructor(
    readonly secretId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

/** A secret the caller may change: the tenant's, active, and not a database's or cache's own. */
async function ownedUserSecret(
  executor: CommandExecutor,
  tenantId: string,
  secretId: string,
): Promise<SecretState> {
  const { state } = await executor.load(secretDecider, secretId);
  if (state.status !== 'active' || state.tenantId !== tenantId) {
    throw AppError.notFound('secret', secretId);
  }
  if (state.owner && state.owner.kind !== 'user') {
    throw AppError.invalidState(
      `secret ${state.name} holds the credentials of ${state.owner.kind} ${state.owner.id}; rotate or delete them through the ${state.owner.kind}`,
      { resource: 'secret', id: secretId, managedBy: state.owner },
    );
  }
  return state;
}

@CommandHandler(CreateSecret)
export class CreateSecretHandler extends UseCaseHandler<CreateSecret, SecretChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly secrets: SecretsService,
  ) {
    super();
  }

  protected async handle({ input, ctx }: CreateSecret): Promise<Handled<SecretChanged>> {
    const tenantId = tenantOf(ctx);
    validateSecretName(input.name);
    const secretId = secretIdFor(tenantId, input.name);
    const sealed = this.secrets.seal(tenantId, secretId, input.value);
    const result = await this.executor.execute(
      secretDecider,
      secretId,
      {
        type: 'CreateSecret',
        secretId,
        tenantId,
        name: input.name,
        description: input.description ?? '',
        owner: { kind: 'user', id: null },
        sealed,
        now: ctx.now,
      },
      ctx,
    );
    return { result: { secretId }, written: [written(result.position, SECRETS_PROJECTION)] };
  }
}

@CommandHandler(RotateSecret)
export class RotateSecretHandler extends UseCaseHandler<RotateSecret, SecretChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly secrets: SecretsService,
  ) {
    super();
  }

  protected async handle({ secretId, value, ctx }: RotateSecret): Promise<Handled<SecretChanged>> {
    const tenantId = tenantOf(ctx);
    await ownedUserSecret(this.executor, tenantId, secretId);
    const sealed = this.secrets.seal(tenantId, secretId, value);
    const result = await this.executor.execute(
      secretDecider,
      secretId,
      { type: 'RotateSecret', sealed, now: ctx.now },
      ctx,
    );
    return { result: { secretId }, written: [written(result.position, SECRETS_PROJECTION)] };
  }
}

@CommandHandler(DeleteSecret)
export class DeleteSecretHandler extends UseCaseHandler<DeleteSecret, SecretChanged> {
  constructor(private readonly executor: CommandExecutor) {
    super();
  }

  protected async handle({ secretId, ctx }: DeleteSecret): Promise<Handled<SecretChanged>> {
    await ownedUserSecret(this.executor, tenantOf(ctx), secretId);
    const result = await this.executor.execute(
      secretDecider,
      secretId,
      { type: 'DeleteSecret', now: ctx.now },
      ctx,
    );
    return { result: { secretId }, written: [written(result.position, SECRETS_PROJECTION)] };
  }
}

export const SECRET_USE_CASES = [CreateSecretHandler, RotateSecretHandler, DeleteSecretHandler];
