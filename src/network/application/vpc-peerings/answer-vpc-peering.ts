import { CommandHandler } from '@nestjs/cqrs';

import { VPC_PEERINGS_PROJECTION } from '../../../../projections/network/edge.projections';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { vpcPeeringDecider } from '../../domain';
import { EdgeAccess } from '../edge-access';
import type { VpcPeeringChanged } from './request-vpc-peering';

/**
 * POST /vpc-peerings/:id/accept and /reject: only the accepter VPC's owner (the requester gets
 * 403, anyone else 404); not pending: 409 invalid_state. The peering saga, woken by the answer,
 * links the routers (accept) or ends (reject).
 */
export class AnswerVpcPeering extends UseCaseCommand<VpcPeeringChanged> {
  constructor(
    readonly peeringId: string,
    readonly answer: 'accept' | 'reject',
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AnswerVpcPeering)
export class AnswerVpcPeeringHandler extends UseCaseHandler<AnswerVpcPeering, VpcPeeringChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
  ) {
    super();
  }

  protected async handle({
    peeringId,
    answer,
    ctx,
  }: AnswerVpcPeering): Promise<Handled<VpcPeeringChanged>> {
    const tenantId = tenantOf(ctx);
    await this.edge.visiblePeering(peeringId, tenantId);
    const result = await this.executor.execute(
      vpcPeeringDecider,
      peeringId,
      {
        type: answer === 'accept' ? 'AcceptVpcPeering' : 'RejectVpcPeering',
        tenantId,
        now: ctx.now,
      },
      ctx,
    );
    return { result: { peeringId }, written: [written(result.position, VPC_PEERINGS_PROJECTION)] };
  }
}
