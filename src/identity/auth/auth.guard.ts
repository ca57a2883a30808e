/**
 * The one guard of the API (APP_GUARD): authenticates, scopes to a tenant, rate-limits, and
 * evaluates the route's IAM action. See decorators.ts for what routes declare.
 *
 * Credentials: `Authorization: Bearer <jwt>` or `Authorization: Bearer nimbus_...` (an API key),
 * and `X-API-Key`. Every credential presented is checked: any invalid one is 401 even when
 * another is valid, and two valid ones must name the same user and tenant (else 401, "the
 * credentials disagree"); then the Authorization one acts. An Authorization header that is not
 * `Bearer <token>` is 401 too.
 *  - JWT: HS256 signature, issuer, audience, expiry, and its session version against the users
 *    read model (a reset or erasure ends it). Tenant: the route's tenant parameter, else
 *    X-Tenant-ID, else the user's default tenant; a tenant the user is not a member of is 404.
 *  - API key: prefix lookup in the keys read model, constant-time hash check, apiKeyUsability
 *    (revoked, rotated away, expired, session ended: 401 on the very next request, because key
 *    commands answer only once this read model has their event). Bound to its tenant: any other
 *    tenant asked for is 404.
 * Non-members never reach `evaluate`. Denials (401/403/429) are recorded as AccessDenied events.
 */
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext } from '../../common/auth-context';
import { AppError } from '../../common/errors/app-error';
import { isUuid } from '../../common/ids';
import { headerValue, requestIdOf } from '../../common/request-context';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../platform/tokens';
import { looksLikeApiKey, parseApiKey, verifyApiKey } from '../crypto/api-key-format';
import { emailLookupHash } from '../crypto/personal-data';
import { apiKeyUsability, isSessionCurrent } from '../domain/api-key';
import { arnFor } from '../domain/iam-patterns';
import { evaluate } from '../domain/policy-evaluation';
import { assertMayUseTenant, type TenantRole } from '../domain/tenant';
import { SERVER_KEYS } from '../identity.tokens';
import { Clock } from '../../platform/clock';
import type { ServerKeys } from '../keys/server-keys';
import { IdentityReadModel, type UserRow } from '../read-model/identity-read-model';
import { AccessDeniedRecorder } from './access-denied.recorder';
import { AccessTokens } from './access-tokens';
import { AuthRateLimits } from './auth-rate-limits';
import { PrincipalCache } from './principal-cache';
import {
  AUTH_RATE_LIMITED,
  OPERATOR_ONLY,
  ANONYMOUS_ALLOWED,
  PUBLIC_ROUTE,
  REQUIRED_ACTION,
  TENANT_PARAM,
  USER_SESSION_REQUIRED,
  type RequiredAction,
} from './decorators';
import { rateLimitHeaders } from './rate-limiter';

const LAST_USED_THROTTLE_MS = 60_000;

interface Authenticated {
  auth: AuthContext;
  user: UserRow;
  role: TenantRole | null;
}

/** What is known about a request so far, for the AccessDenied event. */
interface DenialContext {
  tenantId: string | null;
  auth: AuthContext | null;
  action: string | null;
  resource: string | null;
}

@Injectable()
export class AuthGuard implements CanActivate {
  private readonly lastUsedWrites = new Map<string, number>();
  private readonly operatorHashes: Set<string>;

  constructor(
    private readonly reflector: Reflector,
    private readonly readModel: IdentityReadModel,
    private readonly principals: PrincipalCache,
    private readonly tokens: AccessTokens,
    private readonly limits: AuthRateLimits,
    private readonly recorder: AccessDeniedRecorder,
    private readonly clock: Clock,
    @Inject(SERVER_KEYS) private readonly keys: ServerKeys,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.operatorHashes = new Set(
      config.operatorEmails.map((e) => emailLookupHash(e, keys.emailLookupPepper)),
    );
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    const meta = <T>(key: string) => this.reflector.getAllAndOverride<T | undefined>(key, targets);
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();

    if (meta<boolean>(AUTH_RATE_LIMITED)) {
      const verdict = this.limits.hitAuth(request.ip);
      void reply.headers(rateLimitHeaders(verdict));
    }
    if (meta<boolean>(PUBLIC_ROUTE)) return true;
    if (
      meta<boolean>(ANONYMOUS_ALLOWED) &&
      headerValue(request, 'authorization') === undefined &&
      headerValue(request, 'x-api-key') === undefined
    ) {
      return true;
    }

    const required = meta<RequiredAction>(REQUIRED_ACTION);
    const denial: DenialContext = {
      tenantId: null,
      auth: null,
      action: required?.action ?? null,
      resource: null,
    };
    try {
      const tenantParam = meta<string>(TENANT_PARAM);
      const { auth, user, role } = await this.authenticate(request, tenantParam);
      denial.auth = auth;
      denial.tenantId = auth.tenantId;
      const verdict = this.limits.hitApi(
        auth.apiKeyId ? `key:${auth.apiKeyId}` : `user:${auth.userId}`,
      );
      void reply.headers(rateLimitHeaders(verdict));

      if (meta<boolean>(USER_SESSION_REQUIRED) && auth.apiKeyId && !isTenantAdmin(role)) {
        throw new AppError(
          'forbidden',
          'tenant and key management needs a JWT, or an API key of a tenant owner or admin',
        );
      }
      if (meta<boolean>(OPERATOR_ONLY)) {
        const hash = user.email_lookup_hash;
        if (!hash || !this.operatorHashes.has(hash)) {
          throw new AppError('forbidden', 'this route is for platform operators only');
        }
      }
      if (required) {
        denial.resource = this.resourceOf(required, auth.tenantId, request);
        await this.authorize(auth, role, required.action, denial.resource);
      }
      request.auth = auth;
      return true;
    } catch (err) {
      if (err instanceof AppError && [401, 403, 429].includes(err.status)) {
        await this.recorder.record({
          status: err.status as 401 | 403 | 429,
          code: err.code,
          reason: err.message,
          method: request.method,
          path: request.url.split('?')[0],
          action: denial.action,
          resource: denial.resource,
          tenantId: denial.tenantId,
          actor: denial.auth?.actor ?? null,
          sourceIp: request.ip ?? null,
          requestId: requestIdOf(request),
        });
      }
      throw err;
    }
  }

  private async authenticate(
    request: FastifyRequest,
    tenantParam: string | undefined,
  ): Promise<Authenticated> {
    const authorization = headerValue(request, 'authorization');
    const headerKey = headerValue(request, 'x-api-key');
    const requested = this.requestedTenant(request, tenantParam);
    const presented: Array<{
      name: string;
      check: (tenant: string | undefined) => Promise<Authenticated>;
    }> = [];
    if (authorization !== undefined) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
      if (!bearer) {
        throw new AppError(
          'unauthorized',
          'the Authorization header must be "Bearer <access token or API key>"',
        );
      }
      presented.push(
        looksLikeApiKey(bearer)
          ? {
              name: 'the API key in Authorization',
              check: (tenant) => this.authenticateKey(bearer, tenant),
            }
          : { name: 'the access token', check: (tenant) => this.authenticateJwt(bearer, tenant) },
      );
    }
    if (headerKey !== undefined) {
      const key = headerKey.trim();
      presented.push({ name: 'X-API-Key', check: (tenant) => this.authenticateKey(key, tenant) });
    }
    if (presented.length === 0) {
      throw new AppError(
        'unauthorized',
        'authentication required: send Authorization: Bearer <token> or X-API-Key',
      );
    }
    if (presented.length === 1) return presented[0].check(requested);
    // Several: each is checked (any invalid one is 401) and they must name the same user, and
    // keys the same tenant, before the tenant the request asks for is looked at (so a mismatch is
    // 401 on every route, tenant routes included); then each is scoped to that tenant.
    const identified: Authenticated[] = [];
    for (const credential of presented) identified.push(await credential.check(undefined));
    const [first, ...others] = identified;
    const disagree = (i: number) =>
      new AppError(
        'unauthorized',
        `the credentials disagree: ${presented[0].name} and ${presented[i].name} belong to different users or tenants; send one credential`,
      );
    others.forEach((other, i) => {
      const keysDisagree =
        first.auth.apiKeyId !== undefined &&
        other.auth.apiKeyId !== undefined &&
        first.auth.tenantId !== other.auth.tenantId;
      if (other.auth.userId !== first.auth.userId || keysDisagree) throw disagree(i + 1);
    });
    const scoped: Authenticated[] = [];
    for (const credential of presented) scoped.push(await credential.check(requested));
    // A JWT's tenant (asked for, else the default) must be the one its companion key is bound to.
    scoped.forEach((other, i) => {
      if (other.auth.tenantId !== scoped[0].auth.tenantId) throw disagree(i);
    });
    return scoped[0];
  }

  private async authenticateJwt(token: string, requested: string | undefined) {
    const claims = await this.tokens.verify(token);
    if (!claims) throw new AppError('unauthorized', 'the access token is invalid or has expired');
    return this.authenticateUser(claims.userId, claims.sessionVersion, requested);
  }

  /** The tenant the request names (route parameter or X-Tenant-ID); undefined when none. */
  private requestedTenant(
    request: FastifyRequest,
    tenantParam: string | undefined,
  ): string | undefined {
    if (tenantParam) {
      const value = (request.params as Record<string, string | undefined>)[tenantParam];
      if (value === undefined) return undefined;
      if (!isUuid(value)) throw AppError.notFound('tenant', value);
      return value;
    }
    const header = headerValue(request, 'x-tenant-id');
    if (header === undefined) return undefined;
    if (!isUuid(header)) {
      throw AppError.validation('X-Tenant-ID must be a tenant id (UUID)', [
        { path: 'headers.x-tenant-id', message: 'must be a UUID' },
      ]);
    }
    return header;
  }

  private async authenticateUser(
    userId: string,
    sessionVersion: number,
    requested: string | undefined,
  ): Promise<Authenticated> {
    const user = await this.principals.user(userId);
    if (
      !user ||
      user.status !== 'active' ||
      !isSessionCurrent(sessionVersion, user.session_version)
    ) {
      throw new AppError('unauthorized', 'the session has ended; sign in again');
    }
    const memberships = await this.principals.memberships(userId);
    const list = memberships.map((m) => ({ tenantId: m.tenant_id, role: m.role }));
    let tenantId: string | null;
    let role: TenantRole | null;
    if (requested !== undefined) {
      role = assertMayUseTenant(list, requested);
      tenantId = requested;
    } else {
      const chosen = list.find((m) => m.tenantId === user.default_tenant_id) ?? list[0] ?? null;
      tenantId = chosen?.tenantId ?? null;
      role = chosen?.role ?? null;
    }
    return {
      auth: { actor: { type: 'user', id: userId }, tenantId, userId, roles: role ? [role] : [] },
      user,
      role,
    };
  }

  private async authenticateKey(
    presented: string,
    requested: string | undefined,
  ): Promise<Authenticated> {
    const invalid = (why: string) => new AppError('unauthorized', `the API key ${why}`);
    const parsed = parseApiKey(presented);
    if (!parsed) throw invalid('is not valid');
    const row = await this.principals.apiKeyByPrefix(parsed.prefix);
    if (!row || !verifyApiKey(presented, row.key_hash, this.keys.apiKeyPepper)) {
      throw invalid('is not valid');
    }
    const now = this.clock.now();
    const user = await this.principals.user(row.user_id);
    const usability = apiKeyUsability(
      {
        revoked: row.revoked,
        kind: row.kind,
        expiresAt: row.expires_at,
        sessionVersion: row.session_version,
      },
      now,
      user && user.status === 'active' ? user.session_version : null,
    );
    if (usability !== 'usable' || !user) {
      throw invalid(
        usability === 'revoked'
          ? 'has been revoked'
          : usability === 'expired'
            ? 'has expired'
            : 'belongs to a session that has ended',
      );
    }
    const membership = await this.principals.membership(row.tenant_id, row.user_id);
    if (!membership) throw invalid("belongs to a user who left the key's tenant");
    if (requested !== undefined && requested !== row.tenant_id) {
      // Still 404 (the key shows nothing of other tenants), but the message says why: a key
      // works in the one tenant it was created in, even for a tenant its owner just created.
      throw new AppError(
        'not_found',
        `tenant ${requested} not found for this API key: the key is bound to tenant ` +
          `${row.tenant_id}; use a key created in that tenant, or a JWT`,
        { resource: 'tenant', id: requested, api_key_tenant_id: row.tenant_id },
      );
    }
    await this.touch(row.id, now);
    return {
      auth: {
        actor: { type: 'api_key', id: row.id },
        tenantId: row.tenant_id,
        userId: row.user_id,
        roles: [membership.role],
        apiKeyId: row.id,
      },
      user,
      role: membership.role,
    };
  }

  /** last_used, at most once a minute per key and process (the UPDATE also checks the minute). */
  private async touch(keyId: string, now: Date): Promise<void> {
    const last = this.lastUsedWrites.get(keyId);
    if (last !== undefined && now.getTime() - last < LAST_USED_THROTTLE_MS) return;
    if (this.lastUsedWrites.size > 100_000) this.lastUsedWrites.clear();
    this.lastUsedWrites.set(keyId, now.getTime());
    // Awaited (one UPDATE per key per minute) so a listing right after a use shows it.
    await this.readModel.touchApiKey(keyId, now).catch(() => undefined);
  }

  private resourceOf(
    required: RequiredAction,
    tenantId: string | null,
    request: FastifyRequest,
  ): string {
    const spec = required.resource;
    if (!spec || !tenantId) return '*';
    const service = spec.service ?? required.action.split(':')[0];
    const params = request.params as Record<string, string | undefined>;
    const id = spec.param ? params[spec.param] : undefined;
    return arnFor(service, tenantId, spec.type, id ? encodeURIComponent(id) : '*');
  }

  private async authorize(
    auth: AuthContext,
    role: TenantRole | null,
    action: string,
    resource: string,
  ): Promise<void> {
    // Non-members never reach evaluate: an Allow policy alone must not open a tenant.
    if (!auth.tenantId || !auth.userId || role === null) {
      throw new AppError('forbidden', `${action} needs a tenant the caller belongs to`, { action });
    }
    const policies = await this.principals.attachedPolicies(auth.userId, auth.tenantId);
    const result = evaluate({
      roles: [role],
      policies: policies.map((p) => ({ policyId: p.id, name: p.name, statements: p.statements })),
      action,
      resource,
    });
    if (result.decision === 'deny') {
      throw new AppError('forbidden', result.explanation, {
        action,
        resource,
        reason: result.reason,
        ...(result.statement ? { policy_id: result.statement.policyId } : {}),
      });
    }
  }
}

function isTenantAdmin(role: TenantRole | null): boolean {
  return role === 'owner' || role === 'admin';
}
