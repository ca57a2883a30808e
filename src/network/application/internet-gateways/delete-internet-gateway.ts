import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';

import { INTERNET_GATEWAYS_PROJECTION } from '../../../../projections/network/edge.projections';
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
import { NETWORK_FABRIC, type NetworkFabric } from '../../ports/network-fabric';
import { EdgeAccess } from '../edge-access';
import type { InternetGatewayChanged } from './create-internet-gateway';

/** DELETE /internet-gateways/:id: only a detached gateway (409 dependency_violation naming its VPC). */
export class DeleteInternetGateway extends UseCaseCommand<InternetGatewayChanged> {
  constructor(
    readonly igwId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteInternetGateway)
export class DeleteInternetGatewayHandler extends UseCaseHandler<
  DeleteInternetGateway,
  InternetGatewayChanged
> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    @Inject(NETWORK_FABRIC) private readonly fabric: NetworkFabric,
  ) {
    super();
  }

  protected async handle({
    igwId,
    ctx,
  }: DeleteInternetGateway): Promise<Handled<InternetGatewayChanged>> {
    await this.edge.ownedInternetGateway(igwId, tenantOf(ctx));
    const result = await this.executor.execute(
      internetGatewayDecider,
      igwId,
      { type: 'DeleteInternetGateway', now: ctx.now },
      ctx,
    );
    // A detach interrupted after its record may have left the port and the address behind.
    await this.fabric.detachGateway(igwId);
    await this.edge.releasePublicAddress({ kind: 'internet_gateway', id: igwId }, ctx);
    return { result: { igwId }, written: [written(result.position, INTERNET_GATEWAYS_PROJECTION)] };
  }
}
