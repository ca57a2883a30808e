import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';

import { ELASTIC_IPS_PROJECTION } from '../../../../projections/network/edge.projections';
import { AppError } from '../../../common/errors/app-error';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { elasticIpDecider } from '../../domain';
import { NETWORK_FABRIC, type NetworkFabric } from '../../ports/network-fabric';
import { EdgeAccess } from '../edge-access';
import type { ElasticIpChanged } from './allocate-elastic-ip';

/**
 * POST /elastic-ips/:id/disassociate: the `dnat_and_snat` rule is removed and realized, then the
 * address recorded `allocated` again. An address a NAT gateway uses is 409 (delete the NAT
 * gateway); one not associated is left as it is.
 */
export class DisassociateElasticIp extends UseCaseCommand<ElasticIpChanged> {
  constructor(
    readonly eipId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DisassociateElasticIp)
export class DisassociateElasticIpHandler extends UseCaseHandler<
  DisassociateElasticIp,
  ElasticIpChanged
> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    @Inject(NETWORK_FABRIC) private readonly fabric: NetworkFabric,
  ) {
    super();
  }

  protected async handle({
    eipId,
    ctx,
  }: DisassociateElasticIp): Promise<Handled<ElasticIpChanged>> {
    const tenantId = tenantOf(ctx);
    await this.edge.ownedElasticIp(eipId, tenantId);
    const position = await this.edge.eipLocks.run(eipId, async () => {
      const eip = await this.edge.ownedElasticIp(eipId, tenantId);
      const association = eip.association;
      if (association === null) return null;
      if (association.target.kind === 'nat_gateway') {
        throw new AppError(
          'dependency_violation',
          `elastic IP ${eip.publicIp} is used by NAT gateway ${association.target.id}; delete the NAT gateway to free it`,
          { dependents: { nat_gateways: [association.target.id] } },
        );
      }
      await this.fabric.removeElasticIp(association.vpcId, eipId);
      await this.fabric.waitRealized();
      const result = await this.executor.execute(
        elasticIpDecider,
        eipId,
        { type: 'DisassociateElasticIp', from: association.target, now: ctx.now },
        ctx,
      );
      return result.position;
    });
    return { result: { eipId }, written: [written(position, ELASTIC_IPS_PROJECTION)] };
  }
}
