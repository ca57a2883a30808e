import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';

import { INTERNET_GATEWAYS_PROJECTION } from '../../../../projections/network/edge.projections';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  READ_YOUR_WRITES,
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
  type ReadYourWrites,
} from '../../../platform/commands/use-case';
import { gatewaySpecOf, internetGatewayDecider, routerSpecOf } from '../../domain';
import { NETWORK_FABRIC, type NetworkFabric } from '../../ports/network-fabric';
import { EdgeAccess } from '../edge-access';
import type { InternetGatewayChanged } from './create-internet-gateway';

/**
 * POST /internet-gateways/:id/attach: the VPC's router gets a gateway port on the external
 * network (an address from the pool, default routes to its upstream), realized before the
 * gateway is recorded `attached`. A VPC holds one gateway (409); another tenant's VPC is 404.
 */
export class AttachInternetGateway extends UseCaseCommand<InternetGatewayChanged> {
  constructor(
    readonly igwId: string,
    readonly vpcId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AttachInternetGateway)
export class AttachInternetGatewayHandler extends UseCaseHandler<
  AttachInternetGateway,
  InternetGatewayChanged
> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    @Inject(NETWORK_FABRIC) private readonly fabric: NetworkFabric,
    @Inject(READ_YOUR_WRITES) private readonly projectionsReached: ReadYourWrites,
  ) {
    super();
  }

  protected async handle({
    igwId,
    vpcId,
    ctx,
  }: AttachInternetGateway): Promise<Handled<InternetGatewayChanged>> {
    const tenantId = tenantOf(ctx);
    const gateway = await this.edge.ownedInternetGateway(igwId, tenantId);
    const vpc = await this.edge.ownedVpc(vpcId, tenantId);
    // Held until the read model shows the attachment, so a second gateway racing for the same
    // VPC in this process sees it (other processes: the read model's bound).
    const position = await this.edge.vpcLocks.run(vpcId, async () => {
      const command = {
        type: 'AttachInternetGateway' as const,
        vpcId,
        vpcGatewayId: await this.edge.attachedGatewayOf(vpcId),
        now: ctx.now,
      };
      internetGatewayDecider.decide(command, gateway);
      const externalIp = await this.edge.reservePublicAddress(
        { kind: 'internet_gateway', id: igwId },
        ctx,
      );
      await this.fabric.ensureRouter(routerSpecOf(vpc));
      await this.fabric.attachGateway(
        gatewaySpecOf({ igwId, vpcId, tenantId }, externalIp, this.edge.options),
      );
      await this.fabric.waitRealized();
      const result = await this.executor.execute(internetGatewayDecider, igwId, command, ctx);
      await this.projectionsReached.reached([
        written(result.position, INTERNET_GATEWAYS_PROJECTION),
      ]);
      return result.position;
    });
    return { result: { igwId }, written: [written(position, INTERNET_GATEWAYS_PROJECTION)] };
  }
}
