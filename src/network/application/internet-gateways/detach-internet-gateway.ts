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
import { dependencyViolation, internetGatewayDecider } from '../../domain';
import { NETWORK_FABRIC, type NetworkFabric } from '../../ports/network-fabric';
import { EdgeAccess } from '../edge-access';
import type { InternetGatewayChanged } from './create-internet-gateway';

/**
 * POST /internet-gateways/:id/detach: refused (409 dependency_violation, naming them) while
 * routes point at the gateway or elastic IPs of the VPC are associated (they reach the outside
 * through it); then recorded `detached`, the gateway port removed and its address returned to
 * the pool. Detaching a detached gateway changes nothing.
 */
export class DetachInternetGateway extends UseCaseCommand<InternetGatewayChanged> {
  constructor(
    readonly igwId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DetachInternetGateway)
export class DetachInternetGatewayHandler extends UseCaseHandler<
  DetachInternetGateway,
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
  }: DetachInternetGateway): Promise<Handled<InternetGatewayChanged>> {
    const tenantId = tenantOf(ctx);
    const gateway = await this.edge.ownedInternetGateway(igwId, tenantId);
    const command = {
      type: 'DetachInternetGateway' as const,
      routesTargeting: await this.edge.routesTargeting('igw', igwId),
      now: ctx.now,
    };
    internetGatewayDecider.decide(command, gateway);
    if (gateway.status === 'attached' && gateway.vpcId) {
      const mapped = await this.edge.elasticIpsInVpc(gateway.vpcId);
      if (mapped.length > 0) {
        throw dependencyViolation(
          `elastic IPs ${mapped.join(', ')} of VPC ${gateway.vpcId} reach the outside through internet gateway ${igwId}; disassociate them first`,
          { elastic_ips: mapped },
        );
      }
    }
    const result = await this.executor.execute(internetGatewayDecider, igwId, command, ctx);
    await this.fabric.detachGateway(igwId);
    await this.fabric.waitRealized();
    await this.edge.releasePublicAddress({ kind: 'internet_gateway', id: igwId }, ctx);
    return { result: { igwId }, written: [written(result.position, INTERNET_GATEWAYS_PROJECTION)] };
  }
}
