import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { CallerTenant, CallerTenantOrAnonymous } from '../../platform/http/caller';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiConsumes, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';

import { AppError } from '../../common/errors/app-error';
import { ApiOperationFor } from '../../platform/http/api-operation';
import { Ctx } from '../../common/request-context';
import { AnonymousAllowed, Public } from '../../identity/auth/decorators';
import type { CommandContext } from '../../kernel/command-context';
import {
  AbortMultipartUpload,
  CompleteMultipartUpload,
  InitiateMultipartUpload,
  UploadPart,
} from '../application/multipart';
import { DeleteObject, PutObject, type ObjectWritten } from '../application/objects';
import {
  encodeActor,
  MAX_PRESIGN_SECONDS,
  objectPath,
  presignSignature,
  verifyPresigned,
  type PresignMethod,
} from '../application/presign';
import { StorageAccess } from '../application/storage-access';
import { STORAGE_OPTIONS, type StorageOptions } from '../application/storage-options';
import { StorageQueries } from '../application/storage-queries';
import type { ObjectView } from '../application/views';
import { BLOB_STORE, type BlobStore } from '../ports/blob-store';
import {
  CompleteMultipartDto,
  StorageDeletedResponse,
  ListObjectsQuery,
  MultipartUploadResponse,
  ObjectDeletedResponse,
  ObjectListResponse,
  ObjectResponse,
  ObjectVersionsResponse,
  PartResponse,
  PresignDto,
  PresignedQuery,
  PresignResponse,
  VersionQuery,
} from './dto';
import {
  bodyStream,
  contentTypeOf,
  ObjectKey,
  objectHeaders,
  parseRange,
  StorageAction,
} from './storage-http';

const RAW_BODY = { schema: { type: 'string', format: 'binary' } } as const;

function writtenView({ objectId, bucket, key, version }: ObjectWritten): ObjectView {
  return {
    id: objectId,
    bucket,
    key,
    size_bytes: version.blob?.sizeBytes ?? 0,
    content_type: version.contentType,
    checksum: version.blob?.sha256 ?? null,
    etag: version.blob?.etag ?? null,
    upload_status: 'AVAILABLE',
    version_id: version.versionId,
    created_at: version.createdAt,
  };
}

@ApiTags('storage')
@Controller('storage')
export class ObjectsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: StorageQueries,
    private readonly access: StorageAccess,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(STORAGE_OPTIONS) private readonly options: StorageOptions,
  ) {}

  /** Streams a version (or its range) with its headers; HEAD gets the headers only. */
  private async download(
    bucketId: string,
    key: string,
    versionId: string | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Readable | undefined> {
    const row = await this.queries.objectVersion(bucketId, key, versionId);
    const size = Number(row.size_bytes);
    const range = parseRange(request.headers.range, size);
    objectHeaders(reply, row);
    if (range) {
      void reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', range.end - range.start + 1);
    } else {
      void reply.header('content-length', size);
    }
    if (request.method === 'HEAD' || size === 0 || row.blob_id === null) {
      return undefined;
    }
    try {
      return await this.blobs.open(row.blob_id, range ?? undefined);
    } catch {
      throw new AppError('not_found', `object ${key} not found`, { resource: 'object', key });
    }
  }

  @Get('versions/:bucket/*')
  @StorageAction('storage:listVersions', 'List the versions of an object', 'bucket')
  @ApiOperationFor({
    id: 'listObjectVersions',
    summary: 'Every version of a key, delete markers included, newest first',
    response: ObjectVersionsResponse,
    errors: ['not_found', 'validation_error'],
  })
  async versions(
    @CallerTenant() tenantId: string,
    @Param('bucket') bucket: string,
    @ObjectKey() key: string,
  ) {
    const found = await this.queries.readableBucket(bucket, tenantId);
    return { bucket, key, versions: await this.queries.versions(found.view.id, key) };
  }

  @Post('multipart/init/:bucket/*')
  @StorageAction('storage:put', 'Write objects', 'bucket')
  @ApiOperationFor({
    id: 'initiateMultipartUpload',
    summary:
      'Start a multipart upload for a key (the Content-Type header, if any, becomes the object’s)',
    response: MultipartUploadResponse,
    status: 201,
    errors: ['validation_error', 'not_found'],
  })
  async initiate(
    @Param('bucket') bucket: string,
    @ObjectKey() key: string,
    @Ctx() ctx: CommandContext,
    @Req() request: FastifyRequest,
  ) {
    const type = request.headers['x-object-content-type'];
    const { result } = await this.commands.execute(
      new InitiateMultipartUpload(
        bucket,
        key,
        typeof type === 'string' && type.length > 0 ? type : 'application/octet-stream',
        ctx,
      ),
    );
    return {
      id: result.uploadId,
      bucket,
      key,
      status: 'IN_PROGRESS',
      created_at: result.state.initiatedAt,
    };
  }

  @Put('multipart/upload/:id/parts')
  @StorageAction('storage:put', 'Write objects')
  @ApiQuery({
    name: 'part_number',
    type: Number,
    required: true,
    example: 1,
    description: '1 to 10000',
  })
  @ApiConsumes('*/*')
  @ApiBody(RAW_BODY)
  @ApiOperationFor({
    id: 'uploadPart',
    summary: 'Upload one part (raw body; a part number sent again replaces it)',
    response: PartResponse,
    errors: ['validation_error', 'not_found', 'payload_too_large'],
  })
  async uploadPart(
    @Param('id') id: string,
    @Query('part_number') partNumber: string | undefined,
    @Ctx() ctx: CommandContext,
    @Req() request: FastifyRequest,
  ) {
    // Checked by the use case after the upload's owner (another tenant's upload is 404 first).
    const number = /^\d{1,5}$/.test(partNumber ?? '') ? Number(partNumber) : Number.NaN;
    const { result } = await this.commands.execute(
      new UploadPart(id, number, bodyStream(request), ctx),
    );
    return {
      part_number: result.partNumber,
      etag: result.blob.etag,
      size_bytes: result.blob.sizeBytes,
      checksum: result.blob.sha256,
    };
  }

  @Post('multipart/complete/:id')
  @HttpCode(200)
  @StorageAction('storage:put', 'Write objects')
  @ApiOperationFor({
    id: 'completeMultipartUpload',
    summary:
      'Assemble the listed parts (ascending part numbers; every part but the last at least 5 MiB) into the object',
    response: ObjectResponse,
    errors: [
      'validation_error',
      'not_found',
      'invalid_part',
      'invalid_part_order',
      'entity_too_small',
    ],
  })
  async complete(
    @Param('id') id: string,
    @Body() body: CompleteMultipartDto,
    @Ctx() ctx: CommandContext,
  ) {
    const parts = body.parts.map((p) => ({
      partNumber: p.part_number,
      ...(p.etag !== undefined ? { etag: p.etag } : {}),
    }));
    const { result } = await this.commands.execute(new CompleteMultipartUpload(id, parts, ctx));
    return writtenView(result);
  }

  @Delete('multipart/abort/:id')
  @StorageAction('storage:delete', 'Delete objects and abort uploads')
  @ApiOperationFor({
    id: 'abortMultipartUpload',
    summary: 'Abort a multipart upload; its parts are deleted',
    response: StorageDeletedResponse,
    errors: ['not_found'],
  })
  async abort(@Param('id') id: string, @Ctx() ctx: CommandContext) {
    await this.commands.execute(new AbortMultipartUpload(id, ctx));
    return { message: 'multipart upload aborted', id };
  }

  @Post('presign/:bucket/*')
  @HttpCode(200)
  @StorageAction('storage:presign', 'Create presigned URLs for objects', 'bucket')
  @ApiOperationFor({
    id: 'presignObject',
    summary:
      'A URL that reads (GET) or writes (PUT) one object without credentials until it expires (at most 7 days)',
    response: PresignResponse,
    errors: ['validation_error', 'not_found'],
  })
  async presign(
    @CallerTenant() tenantId: string,
    @Param('bucket') bucket: string,
    @ObjectKey() key: string,
    @Body() body: PresignDto,
    @Ctx() ctx: CommandContext,
  ) {
    const found = await this.queries.readableBucket(bucket, tenantId);
    const seconds = Math.min(body.expires_in ?? 3600, MAX_PRESIGN_SECONDS);
    const expires = Math.floor(ctx.now.getTime() / 1000) + seconds;
    const signature = presignSignature(this.options.presignSecret, {
      method: body.method,
      bucketId: found.view.id,
      key,
      expires,
      actor: ctx.actor,
    });
    const query = new URLSearchParams({
      expires: String(expires),
      actor: encodeActor(ctx.actor),
      signature,
    });
    return {
      url: `${objectPath('/storage/presigned', bucket, key)}?${query.toString()}`,
      method: body.method,
      expires_at: new Date(expires * 1000).toISOString(),
    };
  }

  private async presigned(
    method: PresignMethod,
    bucket: string,
    key: string,
    query: PresignedQuery,
    ctx: CommandContext,
  ) {
    const found = await this.access.bucketNamed(bucket);
    if (!found) {
      throw new AppError('forbidden', 'the presigned URL signature does not match');
    }
    const actor = verifyPresigned(
      this.options.presignSecret,
      method,
      found.bucketId,
      key,
      query,
      ctx.now,
    );
    return { found, actor };
  }

  @Get('presigned/:bucket/*')
  @Public()
  @ApiOperationFor({
    id: 'getPresignedObject',
    summary: 'Download through a presigned URL (no credentials)',
    produces: ['*/*'],
    errors: ['forbidden', 'not_found', 'range_not_satisfiable'],
  })
  async presignedGet(
    @Param('bucket') bucket: string,
    @ObjectKey() key: string,
    @Query() query: PresignedQuery,
    @Ctx() ctx: CommandContext,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { found } = await this.presigned('GET', bucket, key, query, ctx);
    return this.download(found.bucketId, key, undefined, request, reply);
  }

  @Put('presigned/:bucket/*')
  @Public()
  @ApiConsumes('*/*')
  @ApiBody(RAW_BODY)
  @ApiOperationFor({
    id: 'putPresignedObject',
    summary: 'Upload through a presigned URL (no credentials; raw body)',
    response: ObjectResponse,
    errors: ['forbidden', 'validation_error', 'payload_too_large'],
  })
  async presignedPut(
    @Param('bucket') bucket: string,
    @ObjectKey() key: string,
    @Query() query: PresignedQuery,
    @Ctx() ctx: CommandContext,
    @Req() request: FastifyRequest,
  ) {
    const { found, actor } = await this.presigned('PUT', bucket, key, query, ctx);
    const asSigner: CommandContext = { ...ctx, tenantId: found.state.tenantId, actor };
    const { result } = await this.commands.execute(
      new PutObject(bucket, key, bodyStream(request), contentTypeOf(request), asSigner, found),
    );
    return writtenView(result);
  }

  @Get(':bucket')
  @AnonymousAllowed()
  @StorageAction('storage:list', 'List objects', 'bucket')
  @ApiOperationFor({
    id: 'listObjects',
    summary:
      'The latest version of each key in key order; prefix, delimiter (common_prefixes) and cursor. Public buckets: no credentials needed',
    response: ObjectListResponse,
    errors: ['validation_error', 'not_found'],
  })
  async list(
    @CallerTenantOrAnonymous() tenantId: string | null,
    @Param('bucket') bucket: string,
    @Query() query: ListObjectsQuery,
  ) {
    const found = await this.queries.readableBucket(bucket, tenantId);
    return this.queries.listObjects(
      { id: found.view.id, name: bucket },
      {
        prefix: query.prefix ?? '',
        delimiter: query.delimiter ?? '',
        limit: query.limit ?? 100,
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      },
    );
  }

  @Put(':bucket/*')
  @StorageAction('storage:put', 'Write objects', 'bucket')
  @ApiConsumes('*/*')
  @ApiBody(RAW_BODY)
  @ApiOperationFor({
    id: 'putObject',
    summary:
      'Upload an object: the raw body, its Content-Type kept; streamed to disk with its SHA-256 (checksum) and MD5 (etag)',
    response: ObjectResponse,
    errors: ['validation_error', 'not_found', 'payload_too_large'],
  })
  async put(
    @Param('bucket') bucket: string,
    @ObjectKey() key: string,
    @Ctx() ctx: CommandContext,
    @Req() request: FastifyRequest,
  ) {
    const { result } = await this.commands.execute(
      new PutObject(bucket, key, bodyStream(request), contentTypeOf(request), ctx),
    );
    return writtenView(result);
  }

  @Get(':bucket/*')
  @AnonymousAllowed()
  @StorageAction('storage:get', 'Read objects', 'bucket')
  @ApiOperationFor({
    id: 'getObject',
    summary:
      'Download the latest version (or ?version_id=); Range: bytes=a-b gives 206. Public buckets: no credentials needed',
    produces: ['*/*'],
    errors: ['not_found', 'range_not_satisfiable'],
  })
  async get(
    @CallerTenantOrAnonymous() tenantId: string | null,
    @Param('bucket') bucket: string,
    @ObjectKey() key: string,
    @Query() query: VersionQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.queries.readableBucket(bucket, tenantId);
    return this.download(found.view.id, key, query.version_id, request, reply);
  }

  @Delete(':bucket/*')
  @StorageAction('storage:delete', 'Delete objects and abort uploads', 'bucket')
  @ApiOperationFor({
    id: 'deleteObject',
    summary:
      'Delete the latest version (a delete marker when versioned), or ?version_id= permanently',
    response: ObjectDeletedResponse,
    errors: ['not_found'],
  })
  async delete(
    @Param('bucket') bucket: string,
    @ObjectKey() key: string,
    @Query() query: VersionQuery,
    @Ctx() ctx: CommandContext,
  ) {
    const { result } = await this.commands.execute(
      new DeleteObject(bucket, key, query.version_id, ctx),
    );
    return {
      message: result.deleteMarker ? 'delete marker created' : 'object deleted',
      key,
      version_id: result.versionId,
      delete_marker: result.deleteMarker,
    };
  }
}
