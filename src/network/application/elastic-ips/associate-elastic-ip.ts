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
import { elasticIpDecider, elasticIpSpecOf } from '../../domain';
import { NETWORK_FABRIC, type NetworkFabric } from '../../ports/network-fabric';
import { EdgeAccess } from '../edge-access';
import type { ElasticIpChanged } from './allocate-elastic-ip';

/** Instance states in which an elastic IP may be associated. */
const ASSOCIABLE = ['PENDING', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED', 'PAUSED'];

/**
 * POST /elastic-ips/:id/associate: a `dnat_and_snat` rule on the instance's VPC router (the
 * outside reaches the instance at the public address, its own traffic leaves from it), realized
 * before the association is recorded. The instance needs a private address in a VPC with an
 * attached internet gateway (409 otherwise); another tenant's instance is 404.
 */
export class AssociateElasticIp extends UseCaseCommand<ElasticIpChanged> {
  constructor(
    readonly eipId: string,
    readonly instanceId: string,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(AssociateElasticIp)
export class AssociateElasticIpHandler extends UseCaseHandler<
  AssociateElasticIp,
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
    instanceId,
    ctx,
  }: AssociateElasticIp): Promise<Handled<ElasticIpChanged>> {
    const tenantId = tenantOf(ctx);
    await this.edge.ownedElasticIp(eipId, tenantId);
    const instance = await this.edge.ownedInstance(instanceId, tenantId);
    if (!ASSOCIABLE.includes(instance.status)) {
      throw AppError.invalidState(
        `instance ${instanceId} is ${instance.status}; an elastic IP needs a live instance`,
        { resource: 'instance', id: instanceId, status: instance.status },
      );
    }
    const { vpcId, privateIp } = instance;
    if (!vpcId || !privateIp) {
      throw AppError.invalidState(`instance ${instanceId} has no private address in a VPC`, {
        resource: 'instance',
        id: instanceId,
      });
    }
    const position = await this.edge.eipLocks.run(eipId, async () => {
      const eip = await this.edge.ownedElasticIp(eipId, tenantId);
      const command = {
        type: 'AssociateElasticIp' as const,
        target: { kind: 'instance' as const, id: instanceId },
        vpcId,
        privateIp,
        now: ctx.now,
      };
      elasticIpDecider.decide(command, eip);
      const other = await this.edge.elasticIpOf(instanceId);
      if (other !== null && other !== eipId) {
        throw new AppError(
          'conflict',
          `instance ${instanceId} already has elastic IP ${other}; disassociate it first`,
          { resource: 'instance', id: instanceId, elasticIpId: other },
        );
      }
      if ((await this.edge.attachedGatewayOf(vpcId)) === null) {
        throw AppError.invalidState(
          `VPC ${vpcId} has no internet gateway attached; attach one before associating an elastic IP`,
          { resource: 'vpc', id: vpcId },
        );
      }
      const spec = elasticIpSpecOf({
        eipId,
        publicIp: eip.publicIp,
        association: { target: command.target, vpcId, privateIp },
      });
      if (spec === null) throw new Error(`elastic IP ${eipId} has no instance association`);
      await this.fabric.ensureElasticIp(spec);
      await this.fabric.waitRealized();
      return (await this.executor.execute(elasticIpDecider, eipId, command, ctx)).position;
    });
    return { result: { eipId }, written: [written(position, ELASTIC_IPS_PROJECTION)] };
  }
}
