import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiIfMatch, setEtag } from '../../common/etag';
import { AppError } from '../../common/errors/app-error';
import { parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../drivers/docker/compute-driver';
import type { CommandContext } from '../../kernel/command-context';
import { INSTANCE_TYPES, instanceTypeView } from '../domain';
import { ApiOperationFor } from '../../platform/http/api-operation';
import type { ResponseBody, ResponsePage } from '../../platform/http/api-schema';
import { ComputeQueries } from '../application/compute-queries';
import type { Outcome } from '../../platform/commands/use-case';
import {
  InstanceOperations,
  LaunchInstance,
  PauseInstance,
  RebootInstance,
  ResizeInstance,
  ResumeInstance,
  StartInstance,
  StopInstance,
  TerminateInstance,
  UpdateInstance,
  type InstanceChanged,
} from '../application/instances';
import { ConsoleTokens } from './console';
import { LaunchInstanceDto, ListInstancesQuery, ResizeInstanceDto, UpdateInstanceDto } from './dto';
import { ComputeAction } from './iam';
import { CallerTenant } from '../../platform/http/caller';
import {
  ChangedInstanceSchema,
  InstanceActionSchema,
  InstanceConsoleSchema,
  InstanceMetricsSchema,
  InstanceSchema,
  InstanceTypeSchema,
  LaunchedInstanceSchema,
} from './schemas';

const ACTION_MESSAGES = {
  stop: 'instance stopped',
  start: 'instance started',
  reboot: 'instance rebooted',
  pause: 'instance paused',
  resume: 'instance resumed',
  resize: 'instance resized',
} as const;

@ApiTags('compute')
@Controller()
export class InstanceTypesController {
  @Get('instance-types')
  @ComputeAction('compute:describe', 'List the instance types')
  @ApiOperationFor({
    id: 'listInstanceTypes',
    summary: 'The instance type catalog',
    response: z.array(InstanceTypeSchema),
  })
  list(): ResponseBody<typeof InstanceTypeSchema>[] {
    return INSTANCE_TYPES.map(instanceTypeView);
  }
}

@ApiTags('compute')
@Controller('instances')
export class InstancesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly instances: InstanceOperations,
    private readonly queries: ComputeQueries,
    private readonly consoleTokens: ConsoleTokens,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
  ) {}

  /** The instance as the read model shows it once it has the command's writes; else 202 + Location. */
  private async respond(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<InstanceChanged>,
    status: 200 | 202 = 200,
  ) {
    const { instanceId } = outcome.result;
    const location = `/instances/${instanceId}`;
    if (!outcome.caughtUp || status === 202) void reply.header('location', location);
    if (!outcome.caughtUp) {
      void reply.status(202);
      return null;
    }
    void reply.status(status);
    const found = await this.queries.instance(tenantId, instanceId);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Get()
  @ComputeAction('compute:list', 'List instances')
  @ApiOperationFor({
    id: 'listInstances',
    summary: "List the tenant's instances (terminated ones included)",
    response: InstanceSchema,
    page: true,
    errors: ['validation_error'],
  })
  async list(
    @CallerTenant() tenantId: string,
    @Query() query: ListInstancesQuery,
  ): Promise<ResponsePage<typeof InstanceSchema>> {
    return this.queries.instances(tenantId, parsePage(query), {
      status: query.status,
      clusterId: query.cluster_id,
    });
  }

  @Post()
  @HttpCode(202)
  @ComputeAction('compute:launch', 'Launch an instance')
  @ApiOperationFor({
    id: 'launchInstance',
    summary: 'Launch an instance (202: it boots in the background; poll until RUNNING)',
    status: 202,
    response: LaunchedInstanceSchema,
    errors: ['validation_error', 'not_found', 'conflict', 'invalid_state', 'quota_exceeded'],
  })
  async launch(
    @CallerTenant() tenantId: string,
    @Body() body: LaunchInstanceDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof LaunchedInstanceSchema>> {
    const outcome = await this.commands.execute(new LaunchInstance(body, ctx));
    const view = await this.respond(reply, tenantId, outcome, 202);
    return view ?? { id: outcome.result.instanceId, status: 'PENDING' };
  }

  @Get(':id')
  @ComputeAction('compute:get', 'Describe an instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'getInstance',
    summary: 'Describe an instance (with its ETag)',
    response: InstanceSchema,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof InstanceSchema>> {
    const found = await this.queries.instance(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Patch(':id')
  @ComputeAction('compute:update', 'Rename or tag an instance', { type: 'instance', param: 'id' })
  @ApiIfMatch()
  @ApiOperationFor({
    id: 'updateInstance',
    summary: 'Rename or re-tag an instance',
    response: ChangedInstanceSchema,
    errors: ['validation_error', 'not_found', 'invalid_state', 'service_unavailable'],
  })
  async update(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: UpdateInstanceDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof ChangedInstanceSchema>> {
    const outcome = await this.commands.execute(
      new UpdateInstance(id, { name: body.name, tags: body.tags }, ctx),
    );
    return (await this.respond(reply, tenantId, outcome)) ?? { id };
  }

  @Delete(':id')
  @ComputeAction('compute:terminate', 'Terminate an instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'terminateInstance',
    summary: 'Terminate an instance (its container is removed; poll until TERMINATED)',
    response: ChangedInstanceSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  async terminate(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof ChangedInstanceSchema>> {
    const outcome = await this.commands.execute(new TerminateInstance(id, ctx));
    return (await this.respond(reply, tenantId, outcome)) ?? { id };
  }

  private async action(
    action: 'stop' | 'start' | 'reboot' | 'pause' | 'resume',
    tenantId: string,
    id: string,
    ctx: CommandContext,
    reply: FastifyReply,
  ) {
    const Action = {
      stop: StopInstance,
      start: StartInstance,
      reboot: RebootInstance,
      pause: PauseInstance,
      resume: ResumeInstance,
    }[action];
    const outcome = await this.commands.execute(new Action(id, ctx));
    const instance = await this.respond(reply, tenantId, outcome);
    return { message: ACTION_MESSAGES[action], instance };
  }

  @Post(':id/stop')
  @HttpCode(200)
  @ComputeAction('compute:stop', 'Stop an instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'stopInstance',
    summary: 'Stop an instance',
    response: InstanceActionSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  stop(
    @CallerTenant() t: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) r: FastifyReply,
  ): Promise<ResponseBody<typeof InstanceActionSchema>> {
    return this.action('stop', t, id, ctx, r);
  }

  @Post(':id/start')
  @HttpCode(200)
  @ComputeAction('compute:start', 'Start a stopped instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'startInstance',
    summary: 'Start a stopped instance',
    response: InstanceActionSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  start(
    @CallerTenant() t: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) r: FastifyReply,
  ): Promise<ResponseBody<typeof InstanceActionSchema>> {
    return this.action('start', t, id, ctx, r);
  }

  @Post(':id/reboot')
  @HttpCode(200)
  @ComputeAction('compute:reboot', 'Reboot an instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'rebootInstance',
    summary: 'Reboot an instance',
    response: InstanceActionSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  reboot(
    @CallerTenant() t: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) r: FastifyReply,
  ): Promise<ResponseBody<typeof InstanceActionSchema>> {
    return this.action('reboot', t, id, ctx, r);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @ComputeAction('compute:pause', 'Pause a running instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'pauseInstance',
    summary: 'Pause a running instance',
    response: InstanceActionSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  pause(
    @CallerTenant() t: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) r: FastifyReply,
  ): Promise<ResponseBody<typeof InstanceActionSchema>> {
    return this.action('pause', t, id, ctx, r);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ComputeAction('compute:resume', 'Resume a paused instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'resumeInstance',
    summary: 'Resume a paused instance',
    response: InstanceActionSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  resume(
    @CallerTenant() t: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) r: FastifyReply,
  ): Promise<ResponseBody<typeof InstanceActionSchema>> {
    return this.action('resume', t, id, ctx, r);
  }

  @Post(':id/resize')
  @HttpCode(200)
  @ComputeAction('compute:resize', 'Resize an instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'resizeInstance',
    summary: 'Change the instance type (a running instance restarts)',
    response: InstanceActionSchema,
    errors: [
      'validation_error',
      'not_found',
      'invalid_state',
      'quota_exceeded',
      'service_unavailable',
    ],
  })
  async resize(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: ResizeInstanceDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof InstanceActionSchema>> {
    const outcome = await this.commands.execute(new ResizeInstance(id, body.instance_type, ctx));
    const instance = await this.respond(reply, tenantId, outcome);
    return { message: ACTION_MESSAGES.resize, instance };
  }

  @Get(':id/console')
  @ComputeAction('compute:connect', 'Open the console of an instance', {
    type: 'instance',
    param: 'id',
  })
  @ApiOperationFor({
    id: 'getInstanceConsole',
    summary: 'A WebSocket URL attaching an interactive shell (valid for 60 s)',
    response: InstanceConsoleSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  async console(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Req() request: FastifyRequest,
  ): Promise<ResponseBody<typeof InstanceConsoleSchema>> {
    const state = await this.instances.loadOwned(id, tenantId);
    if (state.status !== 'RUNNING') {
      throw AppError.invalidState(`instance is ${state.status}; the console needs RUNNING`, {
        status: state.status,
      });
    }
    const token = this.consoleTokens.mint(tenantId, id);
    const host = request.headers.host ?? '127.0.0.1';
    const scheme = request.protocol === 'https' ? 'wss' : 'ws';
    return { console_url: `${scheme}://${host}/instances/${id}/console/ws?token=${token}` };
  }

  @Get(':id/metrics')
  @ComputeAction('compute:get', 'Describe an instance', { type: 'instance', param: 'id' })
  @ApiOperationFor({
    id: 'getInstanceMetrics',
    summary: 'CPU and memory of the instance, as the engine measures them',
    response: InstanceMetricsSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  async metrics(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
  ): Promise<ResponseBody<typeof InstanceMetricsSchema>> {
    const state = await this.instances.loadOwned(id, tenantId);
    if (state.status !== 'RUNNING' && state.status !== 'PAUSED') {
      return {
        instance_id: id,
        status: state.status === 'NONE' ? 'PENDING' : state.status,
        cpu_percent: 0,
        memory_bytes: 0,
        memory_limit_bytes: (state.instanceType?.memoryMb ?? 0) * 1024 * 1024,
        memory_percent: 0,
        timestamp: new Date().toISOString(),
      };
    }
    const stats = await this.driver.stats(id);
    return {
      instance_id: id,
      status: state.status,
      cpu_percent: stats.cpuPercent,
      memory_bytes: stats.memoryBytes,
      memory_limit_bytes: stats.memoryLimitBytes,
      memory_percent:
        stats.memoryLimitBytes > 0
          ? Math.round((stats.memoryBytes / stats.memoryLimitBytes) * 10000) / 100
          : 0,
      timestamp: stats.at,
    };
  }
}
