/**
 * The S3-compatible endpoint: its own HTTP server on `NIMBUS_S3_PORT` (plain node:http, so the
 * raw path, raw query and raw header values reach the SigV4 verifier untouched and bodies stream
 * straight to the blob store). Path-style (`/<bucket>/<key>`) and virtual-host-style
 * (`<bucket>.<NIMBUS_S3_DOMAIN>`) addressing. A request is signed with an access key
 * (`POST /storage/access-keys`); the key's creator's IAM permissions are checked per operation
 * with the same actions as the native API, and every operation runs the same storage use cases
 * (one metadata model: the native API and S3 show the same buckets, objects and versions). An
 * unsigned request may only read a public bucket (ANONYMOUS_OPERATIONS). Refused authentication
 * and authorization are recorded as AccessDenied events, as the native API's guard records its own.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';

import { ANONYMOUS_ACTOR } from '../../common/auth-context';
import type { AppConfig } from '../../config/config';
import { AccessDeniedRecorder } from '../../identity/auth/access-denied.recorder';
import { arnFor } from '../../identity/domain/iam-patterns';
import { evaluate } from '../../identity/domain/policy-evaluation';
import { IdentityReadModel } from '../../identity/read-model/identity-read-model';
import type { Actor, CommandContext } from '../../kernel/command-context';
import { Clock } from '../../platform/clock';
import { APP_CONFIG } from '../../platform/tokens';
import { AccessKeyQueries } from '../application/access-keys';
import { StorageAccess } from '../application/storage-access';
import { StorageQueries } from '../application/storage-queries';
import type { S3Call } from './s3-call';
import { ANONYMOUS_OPERATIONS, anonymousDenied, S3Operations } from './s3-operations';
import { isSigned, verifySignature, type SignedRequest, type Verified } from './s3-auth';
import { errorXml, s3ErrorOf, S3Error } from './s3-errors';
import { parseQuery } from './sigv4';

/** The request a denial is recorded for. */
interface DenialTarget {
  method: string;
  /** `/<bucket>/<key>` as addressed (path or virtual-host style). */
  resource: string;
  requestId: string;
  bucket: string | null;
  key: string | null;
  req: IncomingMessage;
}

@Injectable()
export class S3Endpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('S3Endpoint');
  private server: Server | null = null;
  private readonly operations: S3Operations;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly keys: AccessKeyQueries,
    private readonly identity: IdentityReadModel,
    private readonly denials: AccessDeniedRecorder,
    private readonly queries: StorageQueries,
    commands: CommandBus,
    access: StorageAccess,
  ) {
    this.operations = new S3Operations(commands, queries, access);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.s3Port === null) return;
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.s3Port ?? 0, this.config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.log.log(`S3 endpoint listening on http://${this.config.host}:${this.port()}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The port the endpoint listens on; null when it is disabled. */
  port(): number | null {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('server', 'Nimbus');
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
    let resource = rawPath;
    try {
      const { bucket, key } = this.address(rawPath, req.headers.host ?? '');
      resource = `/${bucket ?? ''}${key !== null ? `/${key}` : ''}`;
      const values = new Map<string, string[]>();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i].toLowerCase();
        values.set(name, [...(values.get(name) ?? []), req.rawHeaders[i + 1]]);
      }
      const signed: SignedRequest = {
        method: req.method ?? 'GET',
        rawPath,
        query,
        headers: req.headers,
        headerValues: values,
      };
      const now = this.clock.now();
      const target = { method: signed.method, resource, requestId, bucket, key, req };
      let auth: Verified | null = null;
      if (isSigned(signed)) {
        try {
          auth = await verifySignature(signed, now, (id) => this.keys.active(id));
        } catch (err) {
          // Failed authentication (a bad signature, an unknown key, a stale date, an expired
          // URL): not attributed to a tenant, as the native guard's 401s are not.
          if (err instanceof S3Error && err.status === 403) {
            await this.recordDenial(target, err, null, null, null, {
              access_key_id: err.extra.AWSAccessKeyId ?? null,
            });
          }
          throw err;
        }
      }
      const verified = auth;
      const ctx: CommandContext = {
        commandId: randomUUID(),
        tenantId: verified?.key.tenantId ?? null,
        actor: verified ? { type: 'user', id: verified.key.userId } : ANONYMOUS_ACTOR,
        requestId,
        sourceIp: req.socket.remoteAddress ?? null,
        correlationId: requestId,
        causationId: null,
        now,
      };
      const call: S3Call = {
        req,
        res,
        auth: verified,
        ctx,
        bucket,
        key,
        query: new Map(query.map(([n, v]) => [n, v])),
        requestId,
        authorize: (operation, action, forBucket = bucket) =>
          verified
            ? this.authorize(target, verified, operation, action, forBucket)
            : this.authorizeAnonymous(target, operation, action, forBucket),
      };
      await this.operations.dispatch(call);
    } catch (err) {
      this.fail(req, res, err, resource, requestId);
    }
  }

  /** Bucket and key from the Host (virtual-host style) or the path (path style). */
  private address(rawPath: string, host: string): { bucket: string | null; key: string | null } {
    const hostname = host.replace(/:\d+$/, '').toLowerCase();
    const suffix = `.${this.config.s3Domain}`;
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
      }
    };
    const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
    if (hostname.endsWith(suffix) && hostname.length > suffix.length) {
      const bucket = hostname.slice(0, -suffix.length);
      return { bucket, key: path === '' ? null : decode(path) };
    }
    if (path === '') return { bucket: null, key: null };
    const slash = path.indexOf('/');
    if (slash < 0) return { bucket: decode(path), key: null };
    const key = path.slice(slash + 1);
    return { bucket: decode(path.slice(0, slash)), key: key === '' ? null : decode(key) };
  }

  private async authorize(
    target: DenialTarget,
    auth: Verified,
    operation: string,
    action: string,
    bucket: string | null,
  ): Promise<void> {
    const { tenantId, userId } = auth.key;
    const resource = bucket
      ? arnFor('storage', tenantId, 'bucket', encodeURIComponent(bucket))
      : '*';
    const deny = async (message: string): Promise<never> => {
      const error = new S3Error('AccessDenied', message);
      await this.recordDenial(
        { ...target, bucket },
        error,
        { tenantId, actor: { type: 'user', id: userId } },
        action,
        resource,
        { access_key_id: auth.key.accessKeyId, operation },
      );
      throw error;
    };
    const user = await this.identity.user(userId);
    const membership = await this.identity.membership(tenantId, userId);
    if (!user || user.status !== 'active' || !membership) {
      return deny("the access key's user is no longer a member of its tenant");
    }
    const policies = await this.identity.attachedPolicies(userId, tenantId);
    const result = evaluate({
      roles: [membership.role],
      policies: policies.map((p) => ({ policyId: p.id, name: p.name, statements: p.statements })),
      action,
      resource,
    });
    if (result.decision === 'deny') await deny(`Access Denied: ${result.explanation}`);
  }

  /**
   * An unsigned request: only the anonymous reads, on a public bucket. A private bucket and a
   * missing one get the same AccessDenied (not NoSuchBucket), so anonymous callers learn nothing
   * about the names of buckets they may not read.
   */
  private async authorizeAnonymous(
    target: DenialTarget,
    operation: string,
    action: string,
    bucket: string | null,
  ): Promise<void> {
    if (ANONYMOUS_OPERATIONS.has(operation) && bucket !== null) {
      const found = await this.queries.bucketByName(bucket);
      if (found?.state.isPublic) return;
    }
    const error = anonymousDenied();
    await this.recordDenial({ ...target, bucket }, error, null, action, null, { operation });
    throw error;
  }

  /** Records a refused request as the native guard does (flood-limited; never changes the answer). */
  private async recordDenial(
    target: DenialTarget,
    error: S3Error,
    caller: { tenantId: string; actor: Actor } | null,
    action: string | null,
    resource: string | null,
    details: Record<string, string | null>,
  ): Promise<void> {
    await this.denials.record({
      status: 403,
      code: error.code,
      reason: error.message,
      method: target.method,
      path: target.resource,
      action,
      resource,
      tenantId: caller?.tenantId ?? null,
      actor: caller?.actor ?? null,
      sourceIp: target.req.socket.remoteAddress ?? null,
      requestId: target.requestId,
      details: { ...details, bucket: target.bucket, key: target.key, service: 's3' },
    });
  }

  private fail(
    req: IncomingMessage,
    res: ServerResponse,
    err: unknown,
    resource: string,
    requestId: string,
  ): void {
    const error = s3ErrorOf(err);
    if (error.status >= 500)
      this.log.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An unread request body is drained (up to a bound) so the client sees the answer.
    if (!req.complete) {
      req.resume();
      res.setHeader('connection', 'close');
    }
    res.statusCode = error.status;
    if (req.method === 'HEAD' || error.status === 304) {
      res.end();
      return;
    }
    const body = errorXml(error, resource, requestId);
    res.setHeader('content-type', 'application/xml');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  }
}
