import { CommandHandler } from '@nestjs/cqrs';

import { NAT_GATEWAYS_PROJECTION } from '../../../../projections/network/edge.projections';
import {
  NAT_GATEWAY_DELETE_SAGA,
  type NatGatewayInput,
} from '../../../../sagas/nat-gateway/nat-gateway.saga';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import { AppError } from '../../../common/errors/app-error';
import { isUuid } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  tenantOf,
  UseCaseCommand,
  UseCaseHandler,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import { dependencyViolation, natGatewayDecider } from '../../domain';
import { EdgeAccess } from '../edge-access';
import type { NatGatewayChanged } from './create-nat-gateway';

/**
 * DELETE /nat-gateways/:id: refused while routes point at it (409 dependency_violation); else
 * recorded `deleting`, and the teardown saga removes the snat, returns the elastic IP to
 * `allocated` and the private address to the subnet, then records `deleted`.
 */
export class DeleteNatGateway extends UseCaseCommand<NatGatewayChanged> {
  constructor(
    readonly natGatewayId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(DeleteNatGateway)
export class DeleteNatGatewayHandler extends UseCaseHandler<DeleteNatGateway, NatGatewayChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    private readonly sagas: SagaLauncher,
  ) {
    super();
  }

  protected async handle({
    natGatewayId,
    ctx,
  }: DeleteNatGateway): Promise<Handled<NatGatewayChanged>> {
    const tenantId = tenantOf(ctx);
    if (!isUuid(natGatewayId)) throw AppError.notFound('nat_gateway', natGatewayId);
    const { state } = await this.executor.load(natGatewayDecider, natGatewayId);
    if (state.tenantId !== tenantId || state.status === 'none' || state.status === 'deleted') {
      throw AppError.notFound('nat_gateway', natGatewayId);
    }
    const routes = await this.edge.routesTargeting('nat', natGatewayId);
    if (routes.length > 0 && state.status !== 'deleting') {
      throw dependencyViolation(
        `routes ${routes.join(', ')} point at NAT gateway ${natGatewayId}; remove them first`,
        { routes },
      );
    }
    const result = await this.executor.execute(
      natGatewayDecider,
      natGatewayId,
      { type: 'DeleteNatGateway', now: ctx.now },
      ctx,
    );
    const input: NatGatewayInput = { natGatewayId, tenantId };
    await this.sagas.start(NAT_GATEWAY_DELETE_SAGA, natGatewayId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return {
      result: { natGatewayId },
      written: [written(result.position, NAT_GATEWAYS_PROJECTION)],
    };
  }
}
