/**
 * The S3 operations, each a call of the storage use cases or queries the native API uses, with
 * S3's request and answer shapes. Dispatch follows the S3 REST API: the method, whether a bucket
 * and key are named, and the sub-resource in the query (`?uploads`, `?versioning`...).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CommandBus } from '@nestjs/cqrs';

import { isUuid } from '../../common/ids';
import { decodeCursor } from '../../common/pagination';
import { derivedContext } from '../../platform/commands/system-context';
import { objectDecider, type ObjectVersion } from '../domain';
import {
  AddLifecycleRule,
  CreateBucket,
  DeleteBucket,
  RemoveLifecycleRule,
  SetBucketVersioning,
} from '../application/buckets';
import {
  AbortMultipartUpload,
  CompleteMultipartUpload,
  InitiateMultipartUpload,
  UploadPart,
} from '../application/multipart';
import { DeleteObject, PutObject } from '../application/objects';
import type { OwnedBucket, StorageAccess } from '../application/storage-access';
import type { StorageQueries } from '../application/storage-queries';
import type { ObjectRow } from '../application/views';
import { parseRange } from '../http/storage-http';
import { attributesOf, uploadBody } from './payload';
import type { Verified } from './s3-auth';
import { sendXml, type S3Call } from './s3-call';
import { S3Error } from './s3-errors';
import { elements, hasDoctype, text, xml, type XmlNode } from './s3-xml';

const MAX_XML_BODY = 2 * 1024 * 1024;
const MAX_KEYS = 1000;
const REGION = 'us-east-1';

async function readBody(call: S3Call): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of call.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_XML_BODY) throw new S3Error('MalformedXML', 'the request document is too large');
    chunks.push(chunk);
  }
  const doc = Buffer.concat(chunks).toString('utf8');
  if (hasDoctype(doc)) throw new S3Error('MalformedXML', 'DOCTYPEs are not accepted');
  return doc;
}

const isoSeconds = (d: Date | string) => new Date(d).toISOString().replace(/\.\d{3}Z$/, '.000Z');
const quoted = (etag: string | null) => `"${etag ?? ''}"`;
const unquote = (etag: string) => etag.trim().replace(/^"|"$/g, '');

function maxKeysOf(call: S3Call): number {
  const raw =
    call.query.get('max-keys') ?? call.query.get('max-uploads') ?? call.query.get('max-parts');
  if (raw === undefined) return MAX_KEYS;
  if (!/^\d{1,7}$/.test(raw)) throw new S3Error('InvalidArgument', 'max-keys must be an integer');
  return Math.min(Number(raw), MAX_KEYS);
}

/**
 * What an unsigned request may do, and only on a public bucket (`is_public`): the reads the native
 * API opens to anonymous callers (`@AnonymousAllowed`: listing, getting objects), and the HEAD and
 * location requests clients make before them.
 */
export const ANONYMOUS_OPERATIONS: ReadonlySet<string> = new Set([
  'GetObject',
  'HeadObject',
  'ListObjects',
  'ListObjectsV2',
  'HeadBucket',
  'GetBucketLocation',
]);

/** What an unsigned request is told when it may not do what it asks. */
export function anonymousDenied(): S3Error {
  return new S3Error(
    'AccessDenied',
    'Access Denied: an unsigned request may only read a public bucket; sign the request (SigV4)',
  );
}

interface Operation {
  /** S3's name of the operation (GetObject, ListObjectsV2...). */
  name: string;
  /** The native IAM action it needs (storage:get...). */
  action: string;
  run(): Promise<void>;
}

export class S3Operations {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: StorageQueries,
    private readonly access: StorageAccess,
  ) {}

  async dispatch(call: S3Call): Promise<void> {
    const operation = this.route(call);
    await call.authorize(operation.name, operation.action);
    await operation.run();
  }

  /** The S3 operation a request asks for, with the native IAM action that authorizes it. */
  private route(call: S3Call): Operation {
    const method = call.req.method ?? 'GET';
    const has = (name: string) => call.query.has(name);
    const op = (name: string, action: string, run: () => Promise<void>): Operation => ({
      name,
      action,
      run,
    });
    if (call.bucket === null) {
      if (method === 'GET')
        return op('ListBuckets', 'storage:listBuckets', () => this.listBuckets(call));
      throw new S3Error(
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
      );
    }
    if (call.key === null) {
      switch (method) {
        case 'PUT':
          if (has('versioning'))
            return op('PutBucketVersioning', 'storage:putBucketVersioning', () =>
              this.putVersioning(call),
            );
          if (has('lifecycle'))
            return op('PutBucketLifecycleConfiguration', 'storage:putLifecycle', () =>
              this.putLifecycle(call),
            );
          return op('CreateBucket', 'storage:createBucket', () => this.createBucket(call));
        case 'GET':
          if (has('location'))
            return op('GetBucketLocation', 'storage:list', () => this.bucketLocation(call));
          if (has('versioning'))
            return op('GetBucketVersioning', 'storage:list', () => this.getVersioning(call));
          if (has('lifecycle'))
            return op('GetBucketLifecycleConfiguration', 'storage:getLifecycle', () =>
              this.getLifecycle(call),
            );
          if (has('versions'))
            return op('ListObjectVersions', 'storage:listVersions', () => this.listVersions(call));
          if (has('uploads'))
            return op('ListMultipartUploads', 'storage:list', () => this.listUploads(call));
          if (call.query.get('list-type') === '2')
            return op('ListObjectsV2', 'storage:list', () => this.listObjects(call, true));
          return op('ListObjects', 'storage:list', () => this.listObjects(call, false));
        case 'HEAD':
          return op('HeadBucket', 'storage:list', () => this.headBucket(call));
        case 'DELETE':
          if (has('lifecycle'))
            return op('DeleteBucketLifecycle', 'storage:putLifecycle', () =>
              this.deleteLifecycle(call),
            );
          return op('DeleteBucket', 'storage:deleteBucket', () => this.deleteBucket(call));
        case 'POST':
          if (has('delete'))
            return op('DeleteObjects', 'storage:delete', () => this.deleteObjects(call));
          break;
      }
      throw new S3Error('NotImplemented', 'This bucket operation is not implemented.');
    }
    switch (method) {
      case 'PUT':
        if (has('uploadId') || has('partNumber')) {
          const copy = call.req.headers['x-amz-copy-source'] !== undefined;
          return op(copy ? 'UploadPartCopy' : 'UploadPart', 'storage:put', () =>
            this.uploadPart(call),
          );
        }
        if (call.req.headers['x-amz-copy-source'] !== undefined)
          return op('CopyObject', 'storage:put', () => this.copyObject(call));
        return op('PutObject', 'storage:put', () => this.putObject(call));
      case 'GET':
        if (has('uploadId')) return op('ListParts', 'storage:get', () => this.listParts(call));
        return op('GetObject', 'storage:get', () => this.getObject(call, false));
      case 'HEAD':
        return op('HeadObject', 'storage:get', () => this.getObject(call, true));
      case 'DELETE':
        if (has('uploadId'))
          return op('AbortMultipartUpload', 'storage:delete', () => this.abortUpload(call));
        return op('DeleteObject', 'storage:delete', () => this.deleteObject(call));
      case 'POST':
        if (has('uploads'))
          return op('CreateMultipartUpload', 'storage:put', () => this.createUpload(call));
        if (has('uploadId'))
          return op('CompleteMultipartUpload', 'storage:put', () => this.completeUpload(call));
        break;
    }
    throw new S3Error('NotImplemented', 'This object operation is not implemented.');
  }

  private bucket(call: S3Call): string {
    return call.bucket as string;
  }

  private keyOf(call: S3Call): string {
    return call.key as string;
  }

  // ---------------------------------------------------------------- buckets

  private async listBuckets(call: S3Call): Promise<void> {
    const tenantId = this.tenantOf(call);
    const buckets = await this.queries.buckets(tenantId, {
      limit: 1000,
      after: null,
      envelope: false,
    });
    const list = Array.isArray(buckets) ? buckets : buckets.items;
    sendXml(
      call.res,
      200,
      xml('ListAllMyBucketsResult', {
        Owner: { ID: tenantId, DisplayName: tenantId },
        Buckets: {
          Bucket: list.map((b) => ({ Name: b.name, CreationDate: isoSeconds(b.created_at) })),
        },
      }),
    );
  }

  private async createBucket(call: S3Call): Promise<void> {
    // A CreateBucketConfiguration body (LocationConstraint) is accepted and ignored: one region.
    await readBody(call);
    await this.commands.execute(new CreateBucket(this.bucket(call), false, call.ctx));
    call.res.setHeader('location', `/${this.bucket(call)}`);
    call.res.statusCode = 200;
    call.res.end();
  }

  /** The signature of a signed call; the operations that need one never run unsigned. */
  private signed(call: S3Call): Verified {
    if (call.auth === null) throw anonymousDenied();
    return call.auth;
  }

  private tenantOf(call: S3Call): string {
    return this.signed(call).key.tenantId;
  }

  /**
   * The bucket the call names: the caller's own (another tenant's is NoSuchBucket), or for an
   * unsigned call a public one (a private or missing one is AccessDenied alike).
   */
  private async owned(call: S3Call): Promise<OwnedBucket> {
    if (call.auth !== null) return this.access.ownedBucket(this.bucket(call), this.tenantOf(call));
    const found = await this.access.bucketNamed(this.bucket(call));
    if (!found || !found.state.isPublic) throw anonymousDenied();
    return found;
  }

  private async headBucket(call: S3Call): Promise<void> {
    await this.owned(call);
    call.res.setHeader('x-amz-bucket-region', REGION);
    call.res.statusCode = 200;
    call.res.end();
  }

  private async bucketLocation(call: S3Call): Promise<void> {
    await this.owned(call);
    // us-east-1 is an empty LocationConstraint in S3's answer.
    sendXml(
      call.res,
      200,
      '<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>',
    );
  }

  private async deleteBucket(call: S3Call): Promise<void> {
    await this.commands.execute(new DeleteBucket(this.bucket(call), false, call.ctx));
    call.res.statusCode = 204;
    call.res.end();
  }

  private async getVersioning(call: S3Call): Promise<void> {
    const { state } = await this.owned(call);
    const status =
      state.versioning === 'enabled'
        ? 'Enabled'
        : state.versioning === 'suspended'
          ? 'Suspended'
          : null;
    sendXml(call.res, 200, xml('VersioningConfiguration', { Status: status }));
  }

  private async putVersioning(call: S3Call): Promise<void> {
    await this.owned(call);
    const doc = await readBody(call);
    const status = text(doc, 'Status');
    if (status !== 'Enabled' && status !== 'Suspended') {
      throw new S3Error(
        'MalformedXML',
        'VersioningConfiguration Status must be Enabled or Suspended',
      );
    }
    await this.commands.execute(
      new SetBucketVersioning(this.bucket(call), status === 'Enabled', call.ctx),
    );
    call.res.statusCode = 200;
    call.res.end();
  }

  // ---------------------------------------------------------------- lifecycle (native rules)

  private async getLifecycle(call: S3Call): Promise<void> {
    const { state } = await this.owned(call);
    if (state.lifecycleRules.length === 0) {
      throw new S3Error(
        'NoSuchLifecycleConfiguration',
        'The lifecycle configuration does not exist',
      );
    }
    sendXml(
      call.res,
      200,
      xml('LifecycleConfiguration', {
        Rule: state.lifecycleRules.map((r) => ({
          ID: r.ruleId,
          Filter: { Prefix: r.prefix },
          Status: 'Enabled',
          Expiration: { Days: r.expirationDays },
        })),
      }),
    );
  }

  private async putLifecycle(call: S3Call): Promise<void> {
    const { state } = await this.owned(call);
    const doc = await readBody(call);
    const rules = elements(doc, 'Rule').map((rule) => {
      const days = text(rule, 'Days');
      const status = text(rule, 'Status');
      const filter = elements(rule, 'Filter')[0];
      const prefix = (filter !== undefined ? text(filter, 'Prefix') : text(rule, 'Prefix')) ?? '';
      if (!days || !/^\d{1,5}$/.test(days)) {
        throw new S3Error(
          'MalformedXML',
          'each rule needs Expiration Days (other actions are not supported)',
        );
      }
      return { prefix, days: Number(days), enabled: status !== 'Disabled' };
    });
    // Replaces the bucket's rules: the old ones are removed, the enabled new ones added.
    for (const rule of state.lifecycleRules) {
      await this.commands.execute(
        new RemoveLifecycleRule(
          this.bucket(call),
          rule.ruleId,
          derivedContext(call.ctx, `s3-lifecycle-remove/${rule.ruleId}`),
        ),
      );
    }
    for (const [i, rule] of rules.entries()) {
      if (!rule.enabled) continue;
      await this.commands.execute(
        new AddLifecycleRule(
          this.bucket(call),
          rule.prefix,
          rule.days,
          derivedContext(call.ctx, `s3-lifecycle-rule/${i}`),
        ),
      );
    }
    call.res.statusCode = 200;
    call.res.end();
  }

  private async deleteLifecycle(call: S3Call): Promise<void> {
    const { state } = await this.owned(call);
    for (const rule of state.lifecycleRules) {
      await this.commands.execute(
        new RemoveLifecycleRule(
          this.bucket(call),
          rule.ruleId,
          derivedContext(call.ctx, `s3-lifecycle-remove/${rule.ruleId}`),
        ),
      );
    }
    call.res.statusCode = 204;
    call.res.end();
  }

  // ---------------------------------------------------------------- listing

  private async listObjects(call: S3Call, v2: boolean): Promise<void> {
    const { bucketId, state } = await this.owned(call);
    const prefix = call.query.get('prefix') ?? '';
    const delimiter = call.query.get('delimiter') ?? '';
    const encodingType = call.query.get('encoding-type');
    if (encodingType !== undefined && encodingType !== 'url') {
      throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request');
    }
    const enc = (s: string) =>
      encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s;
    const maxKeys = maxKeysOf(call);
    const token = v2 ? call.query.get('continuation-token') : undefined;
    const startAfter = v2 ? call.query.get('start-after') : call.query.get('marker');
    let cursor: string | undefined;
    if (token !== undefined) {
      try {
        if (typeof decodeCursor(token) !== 'string') throw new Error('not a cursor');
      } catch {
        throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
      }
      cursor = token;
    }
    const listing =
      maxKeys === 0
        ? { items: [], common_prefixes: [], next_cursor: null }
        : await this.queries.listObjects(
            { id: bucketId, name: this.bucket(call) },
            {
              prefix,
              delimiter,
              limit: maxKeys,
              ...(cursor !== undefined ? { cursor } : {}),
              ...(startAfter !== undefined && cursor === undefined ? { startAfter } : {}),
            },
          );
    const truncated = listing.next_cursor !== null;
    const contents = listing.items.map((o) => ({
      Key: enc(o.key),
      LastModified: isoSeconds(o.created_at),
      ETag: quoted(o.etag),
      Size: o.size_bytes,
      StorageClass: 'STANDARD',
      // v1 names the owner; an anonymous reader is not told the owning tenant's id.
      ...(v2 || call.auth === null ? {} : { Owner: { ID: state.tenantId } }),
    }));
    const common = listing.common_prefixes.map((p) => ({ Prefix: enc(p) }));
    const body: { [k: string]: XmlNode } = {
      Name: this.bucket(call),
      Prefix: enc(prefix),
    };
    if (v2) {
      if (token !== undefined) body.ContinuationToken = token;
      if (startAfter !== undefined) body.StartAfter = enc(startAfter);
      body.KeyCount = contents.length + common.length;
      body.MaxKeys = maxKeys;
      if (delimiter !== '') body.Delimiter = enc(delimiter);
      body.IsTruncated = truncated;
      if (truncated) body.NextContinuationToken = listing.next_cursor;
    } else {
      body.Marker = enc(startAfter ?? '');
      body.MaxKeys = maxKeys;
      if (delimiter !== '') body.Delimiter = enc(delimiter);
      body.IsTruncated = truncated;
      if (truncated) {
        const lastKey = listing.items.at(-1)?.key ?? '';
        const lastPrefix = listing.common_prefixes.at(-1) ?? '';
        body.NextMarker = enc(lastPrefix > lastKey ? lastPrefix : lastKey);
      }
    }
    if (encodingType === 'url') body.EncodingType = 'url';
    body.Contents = contents;
    body.CommonPrefixes = common;
    sendXml(call.res, 200, xml(v2 ? 'ListBucketResult' : 'ListBucketResult', body));
  }

  private async listVersions(call: S3Call): Promise<void> {
    const { bucketId } = await this.owned(call);
    const prefix = call.query.get('prefix') ?? '';
    const keyMarker = call.query.get('key-marker') ?? '';
    const versionMarker = call.query.get('version-id-marker') ?? '';
    const maxKeys = maxKeysOf(call);
    const encodingType = call.query.get('encoding-type');
    const enc = (s: string) =>
      encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s;
    const rows = await this.queries.bucketVersions(bucketId, {
      prefix,
      keyMarker,
      versionMarker,
      limit: maxKeys,
    });
    const truncated = rows.length > maxKeys;
    const page = rows.slice(0, maxKeys);
    const entry = (r: ObjectRow) => ({
      Key: enc(r.key),
      VersionId: r.version_id,
      IsLatest: r.is_latest,
      LastModified: isoSeconds(r.created_at),
      ...(r.delete_marker
        ? {}
        : { ETag: quoted(r.etag), Size: Number(r.size_bytes), StorageClass: 'STANDARD' }),
      Owner: { ID: this.tenantOf(call) },
    });
    const last = page.at(-1);
    sendXml(
      call.res,
      200,
      xml('ListVersionsResult', {
        Name: this.bucket(call),
        Prefix: enc(prefix),
        KeyMarker: enc(keyMarker),
        VersionIdMarker: versionMarker,
        MaxKeys: maxKeys,
        IsTruncated: truncated,
        ...(truncated && last
          ? { NextKeyMarker: enc(last.key), NextVersionIdMarker: last.version_id }
          : {}),
        ...(encodingType === 'url' ? { EncodingType: 'url' } : {}),
        Version: page.filter((r) => !r.delete_marker).map(entry),
        DeleteMarker: page.filter((r) => r.delete_marker).map(entry),
      }),
    );
  }

  // ---------------------------------------------------------------- objects

  private async putObject(call: S3Call): Promise<void> {
    const owned = await this.owned(call);
    const body = uploadBody(call.req, call.req.headers, this.signed(call));
    const type = call.req.headers['content-type'];
    const { result } = await this.commands.execute(
      new PutObject(
        this.bucket(call),
        this.keyOf(call),
        body.stream,
        typeof type === 'string' && type.length > 0 && type.length <= 255
          ? type
          : 'binary/octet-stream',
        call.ctx,
        owned,
        attributesOf(call.req.headers, body),
      ),
    );
    this.writtenHeaders(call, result.version, owned.state.versioning !== 'disabled');
    call.res.statusCode = 200;
    call.res.end();
  }

  private writtenHeaders(call: S3Call, version: ObjectVersion, versioned: boolean): void {
    call.res.setHeader('etag', quoted(version.blob?.etag ?? null));
    if (versioned) call.res.setHeader('x-amz-version-id', version.versionId);
    const checksum = version.attributes?.checksum;
    if (checksum) call.res.setHeader(`x-amz-checksum-${checksum.algorithm}`, checksum.value);
  }

  /** The source of a copy: `/bucket/key[?versionId=]`, readable by the caller. */
  private async copySource(call: S3Call): Promise<{ row: ObjectRow; bucket: string }> {
    const raw = String(call.req.headers['x-amz-copy-source'] ?? '');
    const [pathPart, queryPart] = raw.split('?');
    let path: string;
    try {
      path = decodeURIComponent(pathPart).replace(/^\//, '');
    } catch {
      throw new S3Error('InvalidArgument', 'x-amz-copy-source is not a valid path');
    }
    const slash = path.indexOf('/');
    if (slash <= 0) throw new S3Error('InvalidArgument', 'x-amz-copy-source must be /bucket/key');
    const bucket = path.slice(0, slash);
    const key = path.slice(slash + 1);
    const versionId = /(?:^|&)versionId=([^&]*)/.exec(queryPart ?? '')?.[1];
    // Reading the source is a GetObject of it, authorized on its own bucket.
    await call.authorize('GetObject', 'storage:get', bucket);
    const source = await this.access.ownedBucket(bucket, this.tenantOf(call));
    const row = await this.queries.objectVersion(source.bucketId, key, versionId);
    return { row, bucket };
  }

  private async copyObject(call: S3Call): Promise<void> {
    const owned = await this.owned(call);
    const { row } = await this.copySource(call);
    const replace =
      String(call.req.headers['x-amz-metadata-directive'] ?? 'COPY').toUpperCase() === 'REPLACE';
    const sourceVersion = await this.versionOf(row);
    const stream = row.blob_id ? await this.access.blobs.open(row.blob_id) : emptyStream();
    const type = replace ? call.req.headers['content-type'] : undefined;
    const headers = replace ? call.req.headers : undefined;
    const { result } = await this.commands.execute(
      new PutObject(
        this.bucket(call),
        this.keyOf(call),
        stream,
        typeof type === 'string' && type !== ''
          ? type
          : (row.content_type ?? 'binary/octet-stream'),
        call.ctx,
        owned,
        () => {
          if (!headers) return sourceVersion?.attributes;
          const replaced = attributesOf(headers, { stream, checksum: () => undefined })();
          return replaced;
        },
      ),
    );
    if (owned.state.versioning !== 'disabled')
      call.res.setHeader('x-amz-version-id', result.version.versionId);
    if (row.version_id !== 'null')
      call.res.setHeader('x-amz-copy-source-version-id', row.version_id);
    sendXml(
      call.res,
      200,
      xml('CopyObjectResult', {
        LastModified: isoSeconds(result.version.createdAt),
        ETag: quoted(result.version.blob?.etag ?? null),
      }),
    );
  }

  /** The version's full metadata (checksum, stored headers) from its stream. */
  private async versionOf(row: ObjectRow): Promise<ObjectVersion | undefined> {
    const { state } = await this.access.executor.load(objectDecider, row.object_id);
    return state.versions.find((v) => v.versionId === row.version_id);
  }

  private async getObject(call: S3Call, head: boolean): Promise<void> {
    const { bucketId } = await this.owned(call);
    const versionId = call.query.get('versionId');
    const row = await this.queries.objectVersion(bucketId, this.keyOf(call), versionId);
    const version = await this.versionOf(row);
    const size = Number(row.size_bytes);
    const etag = quoted(row.etag);
    const modified = new Date(Math.floor(row.created_at.getTime() / 1000) * 1000);
    this.checkConditions(call, etag, modified);
    const partNumber = call.query.get('partNumber');
    const rangeHeader = call.req.headers.range;
    const range = parseRange(typeof rangeHeader === 'string' ? rangeHeader : undefined, size);
    const res = call.res;
    res.setHeader('content-type', row.content_type ?? 'binary/octet-stream');
    res.setHeader('etag', etag);
    res.setHeader('last-modified', modified.toUTCString());
    res.setHeader('accept-ranges', 'bytes');
    if (versionId !== undefined || row.version_id !== 'null')
      res.setHeader('x-amz-version-id', row.version_id);
    for (const [name, value] of Object.entries(version?.attributes?.headers ?? {}))
      res.setHeader(name, value);
    const checksum = version?.attributes?.checksum;
    if (
      checksum &&
      !range &&
      partNumber === undefined &&
      call.req.headers['x-amz-checksum-mode'] === 'ENABLED'
    ) {
      res.setHeader(`x-amz-checksum-${checksum.algorithm}`, checksum.value);
      res.setHeader('x-amz-checksum-type', 'FULL_OBJECT');
    }
    for (const [param, header] of [
      ['response-content-type', 'content-type'],
      ['response-content-disposition', 'content-disposition'],
      ['response-content-encoding', 'content-encoding'],
      ['response-content-language', 'content-language'],
      ['response-cache-control', 'cache-control'],
      ['response-expires', 'expires'],
    ] as const) {
      const value = call.query.get(param);
      if (value !== undefined) res.setHeader(header, value);
    }
    if (range) {
      res.statusCode = 206;
      res.setHeader('content-range', `bytes ${range.start}-${range.end}/${size}`);
      res.setHeader('content-length', range.end - range.start + 1);
    } else {
      res.statusCode = 200;
      res.setHeader('content-length', size);
    }
    if (head || size === 0 || row.blob_id === null) {
      res.end();
      return;
    }
    const stream = await this.access.blobs.open(row.blob_id, range ?? undefined);
    await pipeline(stream, res);
  }

  private checkConditions(call: S3Call, etag: string, modified: Date): void {
    const h = call.req.headers;
    const matches = (list: string) =>
      list.split(',').some((e) => e.trim() === '*' || unquote(e) === unquote(etag));
    const date = (v: string | undefined) => {
      if (v === undefined) return null;
      const d = new Date(v);
      return Number.isNaN(d.getTime()) ? null : d;
    };
    const ifMatch = h['if-match'];
    const ifNoneMatch = h['if-none-match'];
    const ifModifiedSince = date(h['if-modified-since']);
    const ifUnmodifiedSince = date(h['if-unmodified-since']);
    if (ifMatch !== undefined && !matches(ifMatch)) {
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        { Condition: 'If-Match' },
      );
    }
    if (ifMatch === undefined && ifUnmodifiedSince && modified > ifUnmodifiedSince) {
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        { Condition: 'If-Unmodified-Since' },
      );
    }
    if (ifNoneMatch !== undefined && matches(ifNoneMatch)) {
      call.res.setHeader('etag', etag);
      throw new S3Error('NotModified', 'Not Modified');
    }
    if (ifNoneMatch === undefined && ifModifiedSince && modified <= ifModifiedSince) {
      call.res.setHeader('etag', etag);
      throw new S3Error('NotModified', 'Not Modified');
    }
  }

  private async deleteObject(call: S3Call): Promise<void> {
    const owned = await this.owned(call);
    const versionId = call.query.get('versionId');
    try {
      const { result } = await this.commands.execute(
        new DeleteObject(this.bucket(call), this.keyOf(call), versionId, call.ctx),
      );
      if (result.deleteMarker) call.res.setHeader('x-amz-delete-marker', 'true');
      if (owned.state.versioning !== 'disabled' || versionId !== undefined) {
        call.res.setHeader('x-amz-version-id', result.versionId);
      }
    } catch (err) {
      // S3 answers 204 for a key that does not exist.
      const code = (err as { code?: string }).code;
      const resource = (err as { details?: { resource?: string } }).details?.resource;
      if (!(code === 'not_found' && resource !== 'bucket')) throw err;
    }
    call.res.statusCode = 204;
    call.res.end();
  }

  private async deleteObjects(call: S3Call): Promise<void> {
    await this.owned(call);
    const doc = await readBody(call);
    const quiet = text(doc, 'Quiet') === 'true';
    const objects = elements(doc, 'Object').map((o) => ({
      key: text(o, 'Key') ?? '',
      versionId: text(o, 'VersionId'),
    }));
    if (objects.length === 0 || objects.length > 1000) {
      throw new S3Error('MalformedXML', 'Delete needs 1 to 1000 Object elements');
    }
    const deleted: XmlNode[] = [];
    const errors: XmlNode[] = [];
    for (const [i, o] of objects.entries()) {
      try {
        const { result } = await this.commands.execute(
          new DeleteObject(
            this.bucket(call),
            o.key,
            o.versionId,
            derivedContext(call.ctx, `s3-delete-objects/${i}`),
          ),
        );
        deleted.push({
          Key: o.key,
          ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}),
          ...(result.deleteMarker
            ? { DeleteMarker: true, DeleteMarkerVersionId: result.versionId }
            : {}),
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'not_found') {
          deleted.push({
            Key: o.key,
            ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}),
          });
        } else {
          errors.push({ Key: o.key, Code: 'InternalError', Message: (err as Error).message });
        }
      }
    }
    sendXml(call.res, 200, xml('DeleteResult', { Deleted: quiet ? [] : deleted, Error: errors }));
  }

  // ---------------------------------------------------------------- multipart

  private async createUpload(call: S3Call): Promise<void> {
    await this.owned(call);
    const type = call.req.headers['content-type'];
    const { result } = await this.commands.execute(
      new InitiateMultipartUpload(
        this.bucket(call),
        this.keyOf(call),
        typeof type === 'string' && type !== '' ? type : 'binary/octet-stream',
        call.ctx,
      ),
    );
    sendXml(
      call.res,
      200,
      xml('InitiateMultipartUploadResult', {
        Bucket: this.bucket(call),
        Key: this.keyOf(call),
        UploadId: result.uploadId,
      }),
    );
  }

  private partNumberOf(call: S3Call): number {
    const raw = call.query.get('partNumber') ?? '';
    if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 10000) {
      throw new S3Error(
        'InvalidArgument',
        'Part number must be an integer between 1 and 10000, inclusive',
      );
    }
    return Number(raw);
  }

  private async uploadPart(call: S3Call): Promise<void> {
    await this.owned(call);
    const uploadId = call.query.get('uploadId') ?? '';
    const partNumber = this.partNumberOf(call);
    await this.access.ownedUpload(uploadId, this.tenantOf(call));
    if (call.req.headers['x-amz-copy-source'] !== undefined) {
      const { row } = await this.copySource(call);
      const size = Number(row.size_bytes);
      const rangeHeader = call.req.headers['x-amz-copy-source-range'];
      const range = typeof rangeHeader === 'string' ? parseRange(rangeHeader, size) : null;
      const stream = row.blob_id
        ? await this.access.blobs.open(row.blob_id, range ?? undefined)
        : emptyStream();
      const { result } = await this.commands.execute(
        new UploadPart(uploadId, partNumber, stream, call.ctx),
      );
      sendXml(
        call.res,
        200,
        xml('CopyPartResult', {
          LastModified: isoSeconds(result.uploadedAt),
          ETag: quoted(result.blob.etag),
        }),
      );
      return;
    }
    const body = uploadBody(call.req, call.req.headers, this.signed(call));
    const { result } = await this.commands.execute(
      new UploadPart(uploadId, partNumber, body.stream, call.ctx),
    );
    call.res.setHeader('etag', quoted(result.blob.etag));
    const checksum = body.checksum();
    if (checksum) call.res.setHeader(`x-amz-checksum-${checksum.algorithm}`, checksum.value);
    call.res.statusCode = 200;
    call.res.end();
  }

  private async completeUpload(call: S3Call): Promise<void> {
    const owned = await this.owned(call);
    const uploadId = call.query.get('uploadId') ?? '';
    await this.access.ownedUpload(uploadId, this.tenantOf(call));
    const doc = await readBody(call);
    const parts = elements(doc, 'Part').map((p) => {
      const number = text(p, 'PartNumber') ?? '';
      if (!/^\d{1,5}$/.test(number))
        throw new S3Error('MalformedXML', 'PartNumber must be a number');
      const etag = text(p, 'ETag');
      return { partNumber: Number(number), ...(etag !== undefined ? { etag: unquote(etag) } : {}) };
    });
    if (parts.length === 0)
      throw new S3Error('MalformedXML', 'CompleteMultipartUpload needs Part elements');
    const { result } = await this.commands.execute(
      new CompleteMultipartUpload(uploadId, parts, call.ctx),
    );
    if (owned.state.versioning !== 'disabled')
      call.res.setHeader('x-amz-version-id', result.version.versionId);
    sendXml(
      call.res,
      200,
      xml('CompleteMultipartUploadResult', {
        Location: `/${this.bucket(call)}/${this.keyOf(call)}`,
        Bucket: this.bucket(call),
        Key: this.keyOf(call),
        ETag: quoted(result.version.blob?.etag ?? null),
      }),
    );
  }

  private async abortUpload(call: S3Call): Promise<void> {
    await this.owned(call);
    await this.commands.execute(
      new AbortMultipartUpload(call.query.get('uploadId') ?? '', call.ctx),
    );
    call.res.statusCode = 204;
    call.res.end();
  }

  private async listParts(call: S3Call): Promise<void> {
    await this.owned(call);
    const uploadId = call.query.get('uploadId') ?? '';
    const upload = await this.access.ownedUpload(uploadId, this.tenantOf(call));
    if (upload.status !== 'IN_PROGRESS') {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
    }
    const marker = Number(call.query.get('part-number-marker') ?? '0') || 0;
    const maxParts = maxKeysOf(call);
    const all = (await this.queries.multipartParts(uploadId)).filter((p) => p.part_number > marker);
    const page = all.slice(0, maxParts);
    const truncated = all.length > page.length;
    sendXml(
      call.res,
      200,
      xml('ListPartsResult', {
        Bucket: this.bucket(call),
        Key: this.keyOf(call),
        UploadId: uploadId,
        PartNumberMarker: marker,
        ...(truncated ? { NextPartNumberMarker: page.at(-1)?.part_number } : {}),
        MaxParts: maxParts,
        IsTruncated: truncated,
        Part: page.map((p) => ({
          PartNumber: p.part_number,
          LastModified: isoSeconds(p.uploaded_at),
          ETag: quoted(p.etag),
          Size: Number(p.size_bytes),
        })),
      }),
    );
  }

  private async listUploads(call: S3Call): Promise<void> {
    const { bucketId } = await this.owned(call);
    const prefix = call.query.get('prefix') ?? '';
    const maxUploads = maxKeysOf(call);
    const keyMarker = call.query.get('key-marker') ?? '';
    // Without a key marker S3 ignores the upload id marker.
    const uploadIdMarker = keyMarker ? (call.query.get('upload-id-marker') ?? '') : '';
    if (uploadIdMarker && !isUuid(uploadIdMarker)) {
      throw new S3Error('InvalidArgument', 'upload-id-marker is not an upload id of this bucket');
    }
    const found = await this.queries.multipartUploads(bucketId, prefix, {
      keyMarker,
      uploadIdMarker: uploadIdMarker || undefined,
      limit: maxUploads + 1,
    });
    const truncated = found.length > maxUploads;
    const uploads = found.slice(0, maxUploads);
    const last = uploads.at(-1);
    sendXml(
      call.res,
      200,
      xml('ListMultipartUploadsResult', {
        Bucket: this.bucket(call),
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
        ...(truncated && last ? { NextKeyMarker: last.key, NextUploadIdMarker: last.id } : {}),
        Prefix: prefix,
        MaxUploads: maxUploads,
        IsTruncated: truncated,
        Upload: uploads.map((u) => ({
          Key: u.key,
          UploadId: u.id,
          Initiated: isoSeconds(u.initiated_at),
          StorageClass: 'STANDARD',
        })),
      }),
    );
  }
}

function emptyStream() {
  return Readable.from([]);
}
