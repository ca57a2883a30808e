import { CommandHandler } from '@nestjs/cqrs';

import { ELASTIC_IPS_PROJECTION } from '../../../../projections/network/edge.projections';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { QuotaService } from '../../../platform/quotas/quota.service';
import { elasticIpDecider } from '../../domain';
import { EdgeAccess } from '../edge-access';
import type { ElasticIpChanged } from './allocate-elastic-ip';

/** DELETE /elastic-ips/:id: 409 while associated; the address goes back to the pool, the quota to the tenant. */
export class ReleaseElasticIp extends UseCaseCommand<ElasticIpChanged> {
  constructor(
    readonly eipId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(ReleaseElasticIp)
export class ReleaseElasticIpHandler extends UseCaseHandler<ReleaseElasticIp, ElasticIpChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    private readonly quotas: QuotaService,
  ) {
    super();
  }

  protected async handle({ eipId, ctx }: ReleaseElasticIp): Promise<Handled<ElasticIpChanged>> {
    await this.edge.ownedElasticIp(eipId, tenantOf(ctx));
    const result = await this.edge.eipLocks.run(eipId, () =>
      this.executor.execute(
        elasticIpDecider,
        eipId,
        { type: 'ReleaseElasticIp', now: ctx.now },
        ctx,
      ),
    );
    await this.edge.releasePublicAddress({ kind: 'elastic_ip', id: eipId }, ctx);
    await this.quotas.release(tenantOf(ctx), eipId, ctx);
    return { result: { eipId }, written: [written(result.position, ELASTIC_IPS_PROJECTION)] };
  }
}
