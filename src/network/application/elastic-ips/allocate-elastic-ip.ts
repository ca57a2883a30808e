import { CommandHandler } from '@nestjs/cqrs';

import { ELASTIC_IPS_PROJECTION } from '../../../../projections/network/edge.projections';
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
import { QuotaService } from '../../../platform/quotas/quota.service';
import { elasticIpDecider } from '../../domain';
import { EdgeAccess } from '../edge-access';
import { ELASTIC_IP_QUOTA } from '../edge-quotas';

export interface ElasticIpChanged {
  eipId: string;
}

/**
 * POST /elastic-ips: the tenant's `elastic_ips` quota (403 quota_exceeded), then the lowest free
 * address of the pool, held by the tenant until released.
 */
export class AllocateElasticIp extends UseCaseCommand<ElasticIpChanged> {
  constructor(ctx: CommandContext) {
    super(ctx);
  }
}

@CommandHandler(AllocateElasticIp)
export class AllocateElasticIpHandler extends UseCaseHandler<AllocateElasticIp, ElasticIpChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    private readonly quotas: QuotaService,
  ) {
    super();
  }

  protected async handle({ ctx }: AllocateElasticIp): Promise<Handled<ElasticIpChanged>> {
    const tenantId = tenantOf(ctx);
    const eipId = uuidV5(`elastic-ip/${ctx.commandId}`);
    const holder = { kind: 'elastic_ip' as const, id: eipId };
    await this.quotas.reserve(tenantId, holder, { [ELASTIC_IP_QUOTA]: 1 }, ctx);
    let result;
    try {
      const publicIp = await this.edge.reservePublicAddress(holder, ctx);
      result = await this.executor.execute(
        elasticIpDecider,
        eipId,
        { type: 'AllocateElasticIp', eipId, tenantId, publicIp, now: ctx.now },
        ctx,
        { expectNew: true },
      );
    } catch (error) {
      await this.edge.releasePublicAddress(holder, ctx).catch(() => undefined);
      await this.quotas.release(tenantId, eipId, ctx).catch(() => undefined);
      throw error;
    }
    return { result: { eipId }, written: [written(result.position, ELASTIC_IPS_PROJECTION)] };
  }
}
