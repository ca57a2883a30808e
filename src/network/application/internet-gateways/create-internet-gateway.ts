import { CommandHandler } from '@nestjs/cqrs';

import { INTERNET_GATEWAYS_PROJECTION } from '../../../../projections/network/edge.projections';
import { uuidV5 } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { internetGatewayDecider } from '../../domain';

export interface InternetGatewayChanged {
  igwId: string;
}

/** POST /internet-gateways: a gateway, `detached` until attached to a VPC. */
export class CreateInternetGateway extends UseCaseCommand<InternetGatewayChanged> {
  constructor(ctx: CommandContext) {
    super(ctx);
  }
}

@CommandHandler(CreateInternetGateway)
export class CreateInternetGatewayHandler extends UseCaseHandler<
  CreateInternetGateway,
  InternetGatewayChanged
> {
  constructor(private readonly executor: CommandExecutor) {
    super();
  }

  protected async handle({ ctx }: CreateInternetGateway): Promise<Handled<InternetGatewayChanged>> {
    const tenantId = tenantOf(ctx);
    const igwId = uuidV5(`internet-gateway/${ctx.commandId}`);
    const result = await this.executor.execute(
      internetGatewayDecider,
      igwId,
      { type: 'CreateInternetGateway', igwId, tenantId, now: ctx.now },
      ctx,
      { expectNew: true },
    );
    return {
      result: { igwId },
      written: [written(result.position, INTERNET_GATEWAYS_PROJECTION)],
    };
  }
}
