import { CommandHandler } from '@nestjs/cqrs';

import { NAT_GATEWAYS_PROJECTION } from '../../../../projections/network/edge.projections';
import {
  NAT_GATEWAY_SAGA,
  type NatGatewayInput,
} from '../../../../sagas/nat-gateway/nat-gateway.saga';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import { AppError } from '../../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../../common/ids';
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
import { natGatewayDecider, subnetDecider, subnetVisibleTo } from '../../domain';
import { derivedContext, EdgeAccess } from '../edge-access';
import { NAT_GATEWAY_QUOTA } from '../edge-quotas';

export interface NatGatewayChanged {
  natGatewayId: string;
}

/**
 * POST /nat-gateways {subnet_id, eip_id}: the gateway takes an address of the subnet and is
 * recorded `pending` (after the tenant's `nat_gateways` quota, 403 quota_exceeded); the NAT gateway saga takes the elastic IP, writes the snat and records
 * `active` once OVN has realized it, or `failed` with a failure code. Another tenant's subnet or
 * elastic IP is 404.
 */
export class CreateNatGateway extends UseCaseCommand<NatGatewayChanged> {
  constructor(
    readonly subnetId: string,
    readonly eipId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateNatGateway)
export class CreateNatGatewayHandler extends UseCaseHandler<CreateNatGateway, NatGatewayChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    private readonly sagas: SagaLauncher,
    private readonly quotas: QuotaService,
  ) {
    super();
  }

  protected async handle({
    subnetId,
    eipId,
    ctx,
  }: CreateNatGateway): Promise<Handled<NatGatewayChanged>> {
    const tenantId = tenantOf(ctx);
    if (!isUuid(subnetId)) throw AppError.notFound('subnet', subnetId);
    const subnet = (await this.executor.load(subnetDecider, subnetId)).state;
    if (!subnetVisibleTo(subnet, tenantId)) throw AppError.notFound('subnet', subnetId);
    await this.edge.ownedElasticIp(eipId, tenantId);
    const natGatewayId = uuidV5(`nat-gateway/${ctx.commandId}`);
    await this.quotas.reserve(
      tenantId,
      { id: natGatewayId, kind: 'nat_gateway' },
      { [NAT_GATEWAY_QUOTA]: 1 },
      ctx,
    );
    const allocated = await this.executor
      .execute(
        subnetDecider,
        subnetId,
        { type: 'AllocateAddress', holderId: natGatewayId, requestedIp: null, now: ctx.now },
        derivedContext(ctx, 'allocate_address'),
        30,
      )
      .catch(async (error: unknown) => {
        await this.quotas.release(tenantId, natGatewayId, ctx).catch(() => undefined);
        throw error;
      });
    const result = await this.executor.execute(
      natGatewayDecider,
      natGatewayId,
      {
        type: 'CreateNatGateway',
        natGatewayId,
        tenantId,
        vpcId: subnet.vpcId as string,
        subnetId,
        eipId,
        privateIp: allocated.state.allocations[natGatewayId],
        now: ctx.now,
      },
      ctx,
      { expectNew: true },
    );
    const input: NatGatewayInput = { natGatewayId, tenantId };
    await this.sagas.start(NAT_GATEWAY_SAGA, natGatewayId, input, {
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
