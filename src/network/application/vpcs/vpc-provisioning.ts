import { Injectable } from '@nestjs/common';
import { uuidV5 } from '../../../common/ids';
import type { CommandContext } from '../../../kernel/command-context';
import type { Position } from '../../../kernel/position';
import {
  DEFAULT_GROUP_NAME,
  initialRouteTableState,
  initialSecurityGroupState,
  initialVpcState,
  routeTableDecider,
  routerSpecOf,
  securityGroupDecider,
  securityGroupSpecOf,
  vpcDecider,
  type CreateRouteTable,
  type CreateSecurityGroup,
  type CreateVpc as CreateVpcDecision,
  type VpcDependents,
  type VpcState,
} from '../../domain';
import { QuotaService } from '../../../platform/quotas/quota.service';
import { VPC_QUOTA } from '../edge-quotas';
import { derivedContext, ensureGroupOnFabric, NetworkOperations } from '../network-operations';

export const MAIN_ROUTE_TABLE_NAME = 'main';
export const DEFAULT_GROUP_DESCRIPTION = 'default VPC security group';

/** Everything a VPC is created with, its ids derived from one seed (the command id). */
export interface NewVpc {
  vpcId: string;
  tenantId: string;
  name: string;
  cidrBlock: string | null;
  mainRouteTableId: string;
  defaultSecurityGroupId: string;
  selfRuleId: string;
  localRouteId: string;
}

export function newVpcIds(seed: string) {
  return {
    vpcId: uuidV5(`vpc/${seed}`),
    mainRouteTableId: uuidV5(`vpc/${seed}/main-route-table`),
    defaultSecurityGroupId: uuidV5(`vpc/${seed}/default-security-group`),
    selfRuleId: uuidV5(`vpc/${seed}/default-security-group/self-rule`),
    localRouteId: uuidV5(`vpc/${seed}/main-route-table/local`),
  };
}

/**
 * Creating and deleting a VPC with what comes with it: its main route table (with the `local`
 * route) and its `default` security group (admitting its own members). On the fabric: a router,
 * and the group's port group with its ACLs. Used by POST/DELETE /vpcs and by the launch's
 * default VPC.
 */
@Injectable()
export class VpcProvisioning {
  constructor(
    private readonly ops: NetworkOperations,
    private readonly quotas: QuotaService,
  ) {}

  /** Creates the VPC (a no-op when this VPC exists already); returns the last append's position. */
  async create(spec: NewVpc, ctx: CommandContext): Promise<Position | null> {
    const now = ctx.now;
    const vpcCommand: CreateVpcDecision = {
      type: 'CreateVpc',
      vpcId: spec.vpcId,
      tenantId: spec.tenantId,
      name: spec.name,
      cidrBlock: spec.cidrBlock,
      mainRouteTableId: spec.mainRouteTableId,
      defaultSecurityGroupId: spec.defaultSecurityGroupId,
      now,
    };
    const existing = await this.ops.executor.load(vpcDecider, spec.vpcId);
    if (existing.exists) return null;
    // Every 400 before any effect.
    const [created] = vpcDecider.decide(vpcCommand, initialVpcState());
    if (created.type !== 'VpcCreated') throw new Error('CreateVpc decided no VpcCreated');
    const cidrBlock = created.data.cidrBlock;
    const tableCommand: CreateRouteTable = {
      type: 'CreateRouteTable',
      routeTableId: spec.mainRouteTableId,
      tenantId: spec.tenantId,
      vpc: { vpcId: spec.vpcId, cidrBlock },
      name: MAIN_ROUTE_TABLE_NAME,
      isMain: true,
      localRouteId: spec.localRouteId,
      existingMainTableId: null,
      now,
    };
    const groupCommand: CreateSecurityGroup = {
      type: 'CreateSecurityGroup',
      groupId: spec.defaultSecurityGroupId,
      tenantId: spec.tenantId,
      vpcId: spec.vpcId,
      name: DEFAULT_GROUP_NAME,
      description: DEFAULT_GROUP_DESCRIPTION,
      isDefault: true,
      selfRuleId: spec.selfRuleId,
      takenNames: [],
      now,
    };
    routeTableDecider.decide(tableCommand, initialRouteTableState());
    securityGroupDecider.decide(groupCommand, initialSecurityGroupState());

    // 403 quota_exceeded (nothing appended) before any effect; given back if the create fails.
    await this.quotas.reserve(
      spec.tenantId,
      { id: spec.vpcId, kind: 'vpc' },
      { [VPC_QUOTA]: 1 },
      derivedContext(ctx, 'quota'),
    );
    const giveBack = () =>
      this.quotas
        .release(spec.tenantId, spec.vpcId, derivedContext(ctx, 'quota-release'))
        .catch(() => undefined);
    const fabric = this.ops.fabric;
    await this.ops
      .applyToFabric('create the VPC', async () => {
        await fabric.ensureRouter(routerSpecOf({ ...spec, cidrBlock }));
        await fabric.ensureSecurityGroup(
          securityGroupSpecOf({ ...spec, groupId: spec.defaultSecurityGroupId }),
        );
        await fabric.ensureSecurityRule({
          ruleId: spec.selfRuleId,
          groupId: spec.defaultSecurityGroupId,
          direction: 'ingress',
          protocol: 'all',
          portMin: null,
          portMax: null,
          peer: { kind: 'group', groupId: spec.defaultSecurityGroupId },
        });
      })
      .catch(async (error: unknown) => {
        await giveBack();
        throw error;
      });
    try {
      // The VPC last: it is what makes the table and the group reachable (lists go through it).
      await this.ops.appendNew(
        routeTableDecider,
        spec.mainRouteTableId,
        tableCommand,
        derivedContext(ctx, 'main-route-table'),
      );
      await this.ops.appendNew(
        securityGroupDecider,
        spec.defaultSecurityGroupId,
        groupCommand,
        derivedContext(ctx, 'default-security-group'),
      );
      return await this.ops.appendNew(vpcDecider, spec.vpcId, vpcCommand, ctx);
    } catch (error) {
      await this.ops.undoOnFabric(`VPC ${spec.vpcId}`, async () => {
        await fabric.removeSecurityGroup(spec.defaultSecurityGroupId);
        await fabric.removeRouter(spec.vpcId);
      });
      await giveBack();
      throw error;
    }
  }

  /**
   * Deletes the VPC after checking its dependents (409 naming them); its main route table and
   * default group go with it. The caller holds the VPC's lock.
   */
  async delete(
    vpc: VpcState,
    dependents: VpcDependents,
    ctx: CommandContext,
  ): Promise<Position | null> {
    const vpcId = vpc.vpcId as string;
    const deleteVpc = { type: 'DeleteVpc' as const, dependents, now: ctx.now };
    vpcDecider.decide(deleteVpc, vpc);
    const fabric = this.ops.fabric;
    const groupId = vpc.defaultSecurityGroupId as string;
    await this.ops.applyToFabric('delete the VPC', async () => {
      await fabric.removeSecurityGroup(groupId);
      await fabric.removeRouter(vpcId);
    });
    let position: Position | null;
    try {
      position = (await this.ops.executor.execute(vpcDecider, vpcId, deleteVpc, ctx)).position;
    } catch (error) {
      await this.ops.undoOnFabric(`VPC ${vpcId}`, () => this.ensureOnFabric(vpc));
      throw error;
    }
    const table = await this.ops.executor.execute(
      routeTableDecider,
      vpc.mainRouteTableId as string,
      { type: 'DeleteRouteTable', withVpc: true, now: ctx.now },
      derivedContext(ctx, 'main-route-table'),
    );
    const group = await this.ops.executor.execute(
      securityGroupDecider,
      groupId,
      { type: 'DeleteSecurityGroup', withVpc: true, now: ctx.now },
      derivedContext(ctx, 'default-security-group'),
    );
    await this.quotas.release(vpc.tenantId as string, vpcId, derivedContext(ctx, 'quota-release'));
    return group.position ?? table.position ?? position;
  }

  /** The VPC's own fabric objects (router, default group and its rules), ensured. */
  async ensureOnFabric(vpc: VpcState): Promise<void> {
    await this.ops.fabric.ensureRouter(routerSpecOf(vpc));
    const group = await this.ops.executor.load(
      securityGroupDecider,
      vpc.defaultSecurityGroupId as string,
    );
    if (group.state.status === 'available') await ensureGroupOnFabric(this.ops.fabric, group.state);
  }
}
