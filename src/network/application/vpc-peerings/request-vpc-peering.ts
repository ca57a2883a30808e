import { Inject } from '@nestjs/common';
import { CommandHandler } from '@nestjs/cqrs';

import { VPC_PEERINGS_PROJECTION } from '../../../../projections/network/edge.projections';
import { SagaLauncher } from '../../../../sagas/runtime/sagas.module';
import {
  VPC_PEERING_SAGA,
  type VpcPeeringInput,
} from '../../../../sagas/vpc-peering/vpc-peering.saga';
import { AppError } from '../../../common/errors/app-error';
import { isUuid, uuidV5 } from '../../../common/ids';
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
import { vpcDecider, vpcPeeringDecider } from '../../domain';
import { EdgeAccess } from '../edge-access';

export interface VpcPeeringChanged {
  peeringId: string;
}

/**
 * POST /vpc-peerings {requester_vpc_id, accepter_vpc_id}: the requester VPC is the caller's
 * (another tenant's is 404); the accepter VPC may be any tenant's, whose owner then accepts.
 * Recorded `pending-acceptance` with its expiry (NIMBUS_PEERING_EXPIRY), and the peering saga
 * waits for the answer. Self-peering and overlapping blocks are 400; a second pending or active
 * peering of the pair is 409.
 */
export class RequestVpcPeering extends UseCaseCommand<VpcPeeringChanged> {
  constructor(
    readonly requesterVpcId: string,
    readonly accepterVpcId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(RequestVpcPeering)
export class RequestVpcPeeringHandler extends UseCaseHandler<RequestVpcPeering, VpcPeeringChanged> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly edge: EdgeAccess,
    private readonly sagas: SagaLauncher,
    @Inject(READ_YOUR_WRITES) private readonly projectionsReached: ReadYourWrites,
  ) {
    super();
  }

  protected async handle({
    requesterVpcId,
    accepterVpcId,
    ctx,
  }: RequestVpcPeering): Promise<Handled<VpcPeeringChanged>> {
    const tenantId = tenantOf(ctx);
    const requester = await this.edge.ownedVpc(requesterVpcId, tenantId, 'requester_vpc_id');
    if (!isUuid(accepterVpcId)) throw AppError.notFound('vpc', accepterVpcId);
    const accepter = (await this.executor.load(vpcDecider, accepterVpcId)).state;
    if (accepter.status !== 'available') {
      throw new AppError('not_found', `vpc ${accepterVpcId} not found`, {
        resource: 'vpc',
        id: accepterVpcId,
        path: 'accepter_vpc_id',
      });
    }
    const peeringId = uuidV5(`vpc-peering/${ctx.commandId}`);
    const pair = [requesterVpcId, accepterVpcId].sort().join('/');
    // Held until the read model shows the request, so a second request of the pair sees it.
    const position = await this.edge.vpcLocks.run(`peering/${pair}`, async () => {
      const result = await this.executor.execute(
        vpcPeeringDecider,
        peeringId,
        {
          type: 'RequestVpcPeering',
          peeringId,
          requester: {
            vpcId: requesterVpcId,
            tenantId,
            cidrBlock: requester.cidrBlock as string,
          },
          accepter: {
            vpcId: accepterVpcId,
            tenantId: accepter.tenantId as string,
            cidrBlock: accepter.cidrBlock as string,
          },
          livePeeringsOfPair: (
            await this.edge.livePeeringsOf(requesterVpcId, accepterVpcId)
          ).filter((id) => id !== peeringId),
          expiresAt: new Date(ctx.now.getTime() + this.edge.options.peeringExpiryMs),
          now: ctx.now,
        },
        ctx,
      );
      await this.projectionsReached.reached([written(result.position, VPC_PEERINGS_PROJECTION)]);
      return result.position;
    });
    const input: VpcPeeringInput = { peeringId };
    await this.sagas.start(VPC_PEERING_SAGA, peeringId, input, {
      tenantId,
      correlationId: ctx.correlationId,
      requestId: ctx.requestId,
    });
    return { result: { peeringId }, written: [written(position, VPC_PEERINGS_PROJECTION)] };
  }
}
