import { CommandHandler } from '@nestjs/cqrs';
import { ROUTE_TABLES_PROJECTION } from '../../../../projections/network';
import { uuidV5 } from '../../../common/ids';
import type { CommandContext } from '../../../kernel/command-context';
import {
  UseCaseCommand,
  UseCaseHandler,
  tenantOf,
  written,
  type Handled,
} from '../../../platform/commands/use-case';
import {
  initialRouteTableState,
  routeTableDecider,
  type CreateRouteTable as CreateRouteTableDecision,
} from '../../domain';
import { NetworkOperations } from '../network-operations';

export interface CreateRouteTableRequest {
  vpc_id: string;
  name: string;
  is_main?: boolean | null;
}

/** What a route table use case answers: the table it changed (ROUTE_TABLES_PROJECTION). */
export interface RouteTableChanged {
  routeTableId: string;
  routeId?: string;
}

/**
 * POST /route-tables: a table with its `local` route. Nothing on the fabric yet: an OVN route
 * table is the name its routes and its subnets' router ports carry. A VPC has one main table
 * already (made with it), so `is_main: true` is 409.
 */
export class CreateRouteTable extends UseCaseCommand<RouteTableChanged> {
  constructor(
    readonly request: CreateRouteTableRequest,
    ctx: CommandContext,
  ) {
    super(ctx);
  }
}

@CommandHandler(CreateRouteTable)
export class CreateRouteTableHandler extends UseCaseHandler<CreateRouteTable, RouteTableChanged> {
  constructor(private readonly ops: NetworkOperations) {
    super();
  }

  protected async handle({ request, ctx }: CreateRouteTable): Promise<Handled<RouteTableChanged>> {
    const tenantId = tenantOf(ctx);
    const routeTableId = uuidV5(`route-table/${ctx.commandId}`);
    const vpc = await this.ops.visibleVpc(tenantId, request.vpc_id);
    const command: CreateRouteTableDecision = {
      type: 'CreateRouteTable',
      routeTableId,
      tenantId,
      vpc: { vpcId: vpc.vpcId as string, cidrBlock: vpc.cidrBlock as string },
      name: request.name,
      isMain: request.is_main === true,
      localRouteId: uuidV5(`route-table/${ctx.commandId}/local`),
      existingMainTableId: vpc.mainRouteTableId,
      now: ctx.now,
    };
    const existing = await this.ops.executor.load(routeTableDecider, routeTableId);
    if (!existing.exists) routeTableDecider.decide(command, initialRouteTableState());
    const position = await this.ops.appendNew(routeTableDecider, routeTableId, command, ctx);
    return { result: { routeTableId }, written: [written(position, ROUTE_TABLES_PROJECTION)] };
  }
}
