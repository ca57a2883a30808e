import { CommandHandler } from '@nestjs/cqrs';

import { VPC_PEERINGS_PROJECTION } from '../../../../projections/network/edge.projections';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import {
  VPC_PEERING_DELETE_SAGA,
  type VpcPeeringInput,
} from '../../../../sagas/vpc-peering/vpc-peering.saga';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { dependencyViolation, vpcPeeringDecider } from '../../domain';
import { EdgeAccess } from '../edge-access';
import type { VpcPeeringChanged } from './request-vpc-peering';

/**
 * DELETE /vpc-peerings/:id (either side's owner): refused while routes of a route table point at
 * it (409 dependency_violation); else `deleting`, and the teardown saga removes the link and its
 * routes, then records `deleted`. A rejected or expired request stays as it is.
 */
export class DeleteVpcPeering extends UseCaseCommand<VpcPeeringChanged> {
  constructor(
    readonly peeringId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteVpcPeering)
export class DeleteVpcPeeringHandler extends UseCaseHandler<DeleteVpcPeering, VpcPeeringChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({
    peeringId,
    ctx,
  }: DeleteVpcPeering): Promise<Handled<VpcPeeringChanged>> {
    const tenantId = tenantOf(ctx);
    const state = await this.edge.visiblePeering(peeringId, tenantId);
    const routes = await this.edge.routesTargeting('peering', peeringId);
    if (routes.length > 0 && state.status !== 'deleting') {
      throw dependencyViolation(
        `routes ${routes.join(', ')} point at VPC peering ${peeringId}; remove them first`,
        { routes },
      );
    }
    const result = await this.executor.execute(
      vpcPeeringDecider,
      peeringId,
      { type: 'DeleteVpcPeering', now: ctx.now },
      ctx,
    );
    if (result.state.status === 'deleting') {
      const input: VpcPeeringInput = { peeringId };
      await this.sagas.start(VPC_PEERING_DELETE_SAGA, peeringId, input, {
        tenantId,
        correlationId: ctx.correlationId,
        requestId: ctx.requestId,
      });
    }
    return { result: { peeringId }, written: [written(result.position, VPC_PEERINGS_PROJECTION)] };
  }
}
