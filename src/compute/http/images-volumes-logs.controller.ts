import {
  Body,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  FileStreamInterceptor,
  type MultipartFileStream,
} from '@nestjs/platform-fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { imageOwnedBy } from '../domain';
import { setEtag } from '../../common/etag';
import { AppError } from '../../common/errors/app-error';
import { isUuid } from '../../common/ids';
import { parseInstantParam } from '../../common/instant-param';
import { parsePage } from '../../common/pagination';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import { ComputeQueries } from '../application/compute-queries';
import {
  DeleteImage,
  ImageImports,
  ImportImage,
  RegisterImage,
  UploadImage,
  type ImageChanged,
} from '../application/images';
import { LogCollector } from '../application/log-collector';
import {
  AttachVolume,
  CreateVolume,
  DeleteVolume,
  DetachVolume,
  type VolumeChanged,
} from '../application/volumes';
import type { Outcome } from '../../platform/commands/use-case';
import { PageQuery } from '../../common/pagination';
import {
  AttachVolumeDto,
  CreateVolumeDto,
  ImportImageDto,
  LogsQuery,
  RegisterImageDto,
  ResourceLogsQuery,
} from './dto';
import { ComputeAction } from './iam';
import { CallerTenant, callerTenantOf } from '../../platform/http/caller';
import { afterWrite } from '../../platform/http/after-write';
import {
  ImageOrAcceptedSchema,
  ImageSchema,
  LogEntrySchema,
  VolumeOrAcceptedSchema,
  VolumeSchema,
} from './schemas';
import { ApiOperationFor } from '../../platform/http/api-operation';
import {
  DeletedSchema,
  type ResponseBody,
  type ResponsePage,
} from '../../platform/http/api-schema';

/** Largest root filesystem tarball accepted by `POST /images/:id/upload` (streamed, not buffered). */
export const MAX_IMAGE_UPLOAD_BYTES = 8 * 1024 ** 3;

/**
 * Answers 404 for an image the caller does not own before the multipart body is parsed, so
 * another tenant's image id never gets a parser error instead.
 */
@Injectable()
export class ImageOwnerFirst implements NestInterceptor {
  constructor(private readonly images: ImageImports) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { id: string } }>>();
    const tenantId = callerTenantOf(request);
    const state = await this.images.loadVisible(request.params.id, tenantId);
    if (!imageOwnedBy(state, tenantId)) throw AppError.notFound('image', request.params.id);
    return next.handle();
  }
}

@ApiTags('images')
@Controller('images')
export class ImagesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: ComputeQueries,
  ) {}

  private respond(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<ImageChanged>,
    status: 200 | 201 | 202,
  ) {
    const { imageId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/images/${imageId}`,
      status,
      read: () => this.queries.image(tenantId, imageId),
      id: imageId,
      accepted: { status: 'PENDING' as const },
    });
  }

  @Get()
  @ComputeAction('image:list', 'List images (own and public)')
  @ApiOperationFor({
    id: 'listImages',
    summary: "The tenant's images and every public image",
    response: ImageSchema,
    page: true,
    errors: ['validation_error'],
  })
  list(
    @CallerTenant() tenantId: string,
    @Query() query: PageQuery,
  ): Promise<ResponsePage<typeof ImageSchema>> {
    return this.queries.images(tenantId, parsePage(query));
  }

  @Post()
  @ComputeAction('image:create', 'Register an image')
  @ApiOperationFor({
    id: 'registerImage',
    summary: 'Register image metadata; upload the root filesystem separately',
    status: 201,
    response: ImageOrAcceptedSchema,
    // 409: the name is a system image's, or one of the tenant's own images has it.
    errors: ['validation_error', 'conflict'],
  })
  async register(
    @CallerTenant() tenantId: string,
    @Body() body: RegisterImageDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof ImageOrAcceptedSchema>> {
    const outcome = await this.commands.execute(new RegisterImage(body, ctx));
    return this.respond(reply, tenantId, outcome, 201);
  }

  @Post('import')
  @HttpCode(202)
  @ComputeAction('image:import', 'Import an image from a URL')
  @ApiOperationFor({
    id: 'importImage',
    summary: 'Download a root filesystem tarball and import it (202, PENDING -> ACTIVE | ERROR)',
    status: 202,
    response: ImageOrAcceptedSchema,
    // 409: the name is a system image's, or one of the tenant's own images has it.
    errors: ['validation_error', 'conflict'],
  })
  async import(
    @CallerTenant() tenantId: string,
    @Body() body: ImportImageDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof ImageOrAcceptedSchema>> {
    const outcome = await this.commands.execute(new ImportImage(body, ctx));
    return this.respond(reply, tenantId, outcome, 202);
  }

  @Get(':id')
  @ComputeAction('image:get', 'Describe an image', { type: 'image', param: 'id' })
  @ApiOperationFor({
    id: 'getImage',
    summary: 'Describe an image (with its ETag)',
    response: ImageSchema,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof ImageSchema>> {
    const found = await this.queries.image(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Post(':id/upload')
  @HttpCode(200)
  @UseInterceptors(
    ImageOwnerFirst,
    FileStreamInterceptor('file', { limits: { fileSize: MAX_IMAGE_UPLOAD_BYTES, files: 1 } }),
  )
  @ComputeAction('image:upload', "Upload an image's root filesystem", {
    type: 'image',
    param: 'id',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } } },
  })
  @ApiOperationFor({
    id: 'uploadImage',
    summary: "Upload an image's root filesystem (a tar archive, multipart field `file`)",
    response: ImageOrAcceptedSchema,
    errors: ['validation_error', 'not_found', 'invalid_state'],
  })
  async upload(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @UploadedFile() file: MultipartFileStream | undefined,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof ImageOrAcceptedSchema>> {
    if (!file) {
      throw AppError.validation('a multipart field "file" is required', [
        { path: 'file', message: 'is required' },
      ]);
    }
    const outcome = await this.commands.execute(new UploadImage(id, file.stream, ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Delete(':id')
  @ComputeAction('image:delete', 'Delete an image', { type: 'image', param: 'id' })
  @ApiOperationFor({
    id: 'deleteImage',
    summary: 'Delete an image no live instance uses',
    response: DeletedSchema,
    errors: ['not_found', 'dependency_violation', 'forbidden'],
  })
  async delete(
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
  ): Promise<ResponseBody<typeof DeletedSchema>> {
    await this.commands.execute(new DeleteImage(id, ctx));
    return { message: 'image deleted', id };
  }
}

@ApiTags('volumes')
@Controller('volumes')
export class VolumesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: ComputeQueries,
  ) {}

  private respond(
    reply: FastifyReply,
    tenantId: string,
    outcome: Outcome<VolumeChanged>,
    status: 200 | 201,
  ) {
    const { volumeId } = outcome.result;
    return afterWrite({
      reply,
      outcome,
      location: `/volumes/${volumeId}`,
      status,
      read: () => this.queries.volume(tenantId, volumeId),
      id: volumeId,
      accepted: { status: 'PENDING' as const },
    });
  }

  @Get()
  @ComputeAction('volume:list', 'List volumes')
  @ApiOperationFor({
    id: 'listVolumes',
    summary: "The tenant's volumes",
    response: VolumeSchema,
    page: true,
    errors: ['validation_error'],
  })
  list(
    @CallerTenant() tenantId: string,
    @Query() query: PageQuery,
  ): Promise<ResponsePage<typeof VolumeSchema>> {
    return this.queries.volumes(tenantId, parsePage(query));
  }

  @Post()
  @ComputeAction('volume:create', 'Create a volume')
  @ApiOperationFor({
    id: 'createVolume',
    summary: 'Create a volume',
    status: 201,
    response: VolumeOrAcceptedSchema,
    errors: ['validation_error', 'quota_exceeded'],
  })
  async create(
    @CallerTenant() tenantId: string,
    @Body() body: CreateVolumeDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof VolumeOrAcceptedSchema>> {
    const outcome = await this.commands.execute(new CreateVolume(body.name, body.size_gb, ctx));
    return this.respond(reply, tenantId, outcome, 201);
  }

  @Get(':id')
  @ComputeAction('volume:get', 'Describe a volume', { type: 'volume', param: 'id' })
  @ApiOperationFor({
    id: 'getVolume',
    summary: 'Describe a volume (with its ETag)',
    response: VolumeSchema,
    errors: ['not_found'],
  })
  async get(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof VolumeSchema>> {
    const found = await this.queries.volume(tenantId, id);
    setEtag(reply, found.revision);
    return found.view;
  }

  @Post(':id/attach')
  @HttpCode(200)
  @ComputeAction('volume:attach', 'Attach a volume to an instance', { type: 'volume', param: 'id' })
  @ApiOperationFor({
    id: 'attachVolume',
    summary:
      'Attach to a RUNNING or STOPPED instance: its container is re-created with the volume mounted, keeping its root filesystem (409 in other states)',
    response: VolumeOrAcceptedSchema,
    errors: ['validation_error', 'not_found', 'invalid_state', 'service_unavailable'],
  })
  async attach(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Body() body: AttachVolumeDto,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof VolumeOrAcceptedSchema>> {
    const outcome = await this.commands.execute(
      new AttachVolume(id, body.instance_id, body.mount_path, ctx),
    );
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Post(':id/detach')
  @HttpCode(200)
  @ComputeAction('volume:detach', 'Detach a volume', { type: 'volume', param: 'id' })
  @ApiOperationFor({
    id: 'detachVolume',
    summary:
      "Detach from its instance: a RUNNING or STOPPED instance's container is re-created without the mount (409 while PAUSED or in transition)",
    response: VolumeOrAcceptedSchema,
    errors: ['not_found', 'invalid_state', 'service_unavailable'],
  })
  async detach(
    @CallerTenant() tenantId: string,
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof VolumeOrAcceptedSchema>> {
    const outcome = await this.commands.execute(new DetachVolume(id, ctx));
    return this.respond(reply, tenantId, outcome, 200);
  }

  @Delete(':id')
  @ComputeAction('volume:delete', 'Delete a volume', { type: 'volume', param: 'id' })
  @ApiOperationFor({
    id: 'deleteVolume',
    summary: 'Delete a detached volume',
    response: DeletedSchema,
    errors: ['not_found', 'dependency_violation'],
  })
  async delete(
    @Param('id') id: string,
    @Ctx() ctx: CommandContext,
  ): Promise<ResponseBody<typeof DeletedSchema>> {
    await this.commands.execute(new DeleteVolume(id, ctx));
    return { message: 'volume deleted', id };
  }
}

@ApiTags('logs')
@Controller('logs')
export class LogsController {
  constructor(
    private readonly queries: ComputeQueries,
    private readonly collector: LogCollector,
  ) {}

  @Get()
  @ComputeAction('logs:list', 'Search the platform and console logs')
  @ApiOperationFor({
    id: 'searchLogs',
    summary: 'Search logs of instances, images and volumes (newest first)',
    response: z.array(LogEntrySchema),
    errors: ['validation_error'],
  })
  async search(
    @CallerTenant() tenantId: string,
    @Query() query: LogsQuery,
  ): Promise<ResponseBody<typeof LogEntrySchema>[]> {
    if (query.resource_id) await this.collectFor(tenantId, query.resource_id);
    return this.queries.logs({
      tenantId,
      resourceId: query.resource_id,
      resourceType: query.resource_type,
      level: query.level,
      search: query.search,
      // Normalised to UTC: PostgreSQL refuses offsets past ±15:59 that RFC 3339 allows.
      startTime: parseInstantParam(query.start_time, 'start_time')?.toISOString(),
      endTime: parseInstantParam(query.end_time, 'end_time')?.toISOString(),
      limit: query.limit ?? 100,
      offset: query.offset ?? 0,
    });
  }

  @Get(':resource_id')
  @ComputeAction('logs:get', 'Read the logs of one resource')
  @ApiOperationFor({
    id: 'getResourceLogs',
    summary: 'The logs of one instance, image or volume (newest first)',
    response: z.array(LogEntrySchema),
    errors: ['validation_error', 'not_found'],
  })
  async forResource(
    @CallerTenant() tenantId: string,
    @Param('resource_id') resourceId: string,
    @Query() query: ResourceLogsQuery,
  ): Promise<ResponseBody<typeof LogEntrySchema>[]> {
    if (!isUuid(resourceId)) {
      throw AppError.validation('resource_id must be a UUID', [
        { path: 'resource_id', message: 'must be a UUID' },
      ]);
    }
    if (!(await this.queries.ownsResource(tenantId, resourceId))) {
      throw AppError.notFound('resource', resourceId);
    }
    await this.collectFor(tenantId, resourceId);
    return this.queries.logs({ tenantId, resourceId, limit: query.limit ?? 100, offset: 0 });
  }

  /** Console output of an instance is collected on read, so it is never a period behind. */
  private async collectFor(tenantId: string, resourceId: string): Promise<void> {
    try {
      const found = await this.queries.instance(tenantId, resourceId);
      if (found.view.container_id) await this.collector.collect(resourceId, tenantId);
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'not_found')) throw error;
    }
  }
}
