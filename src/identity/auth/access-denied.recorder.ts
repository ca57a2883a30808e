/**
 * Denied requests (401/403/429 on authenticated routes, and the S3 endpoint's authentication and
 * authorization refusals) become `AccessDenied` events on stream `access-<tenant id>` (the
 * caller's tenant when known) or `access-ip-<address>`, so the audit log can show them.
 *
 * Flood control, so unauthenticated traffic cannot write unbounded events: at most
 * PER_SOURCE_LIMIT events per source (tenant or IP) per minute and GLOBAL_LIMIT per minute in all;
 * denials beyond that are counted, not written, and the next event of that source carries the
 * count in `suppressed` (the global overflow is reported on the next event written at all).
 * Counters live in process memory; recording failures are logged and never change the answer.
 */
import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { ANONYMOUS_ACTOR } from '../../common/auth-context';
import { newId } from '../../common/ids';
import type { EventStore } from '../../eventstore/event-store';
import type { Actor } from '../../kernel/command-context';
import { RateLimiter } from './rate-limiter';

export const ACCESS_DENIED_EVENT = 'AccessDenied';
export const PER_SOURCE_LIMIT = 10;
export const GLOBAL_LIMIT = 300;
const MAX_TRACKED_SOURCES = 10_000;

export interface AccessDenial {
  status: 401 | 403 | 429;
  code: string;
  reason: string;
  method: string;
  path: string;
  /** The IAM action of the route, when it declares one. */
  action: string | null;
  /** The ARN the action was evaluated on, when known. */
  resource: string | null;
  tenantId: string | null;
  actor: Actor | null;
  sourceIp: string | null;
  requestId: string | null;
  /** What else names the refused request (the S3 endpoint: access key id, bucket, key, operation). */
  details?: Readonly<Record<string, string | null>>;
}

export class AccessDeniedRecorder {
  private readonly logger = new Logger('AccessDenied');
  private readonly limiter: RateLimiter;
  /** Suppressed denials per source (at most MAX_TRACKED_SOURCES; the rest count globally). */
  private readonly suppressed = new Map<string, number>();
  private globalSuppressed = 0;

  constructor(
    private readonly store: EventStore,
    private readonly now: () => Date,
  ) {
    this.limiter = new RateLimiter(60_000, () => this.now().getTime());
  }

  /** Stream of a denial's source. IPv6 colons are kept; anything else odd is hashed. */
  static streamOf(denial: Pick<AccessDenial, 'tenantId' | 'sourceIp'>): string {
    if (denial.tenantId) return `access-${denial.tenantId}`;
    const ip = denial.sourceIp ?? 'unknown';
    const safe = /^[0-9A-Fa-f.:]{1,45}$/.test(ip)
      ? ip
      : createHash('sha256').update(ip).digest('hex').slice(0, 16);
    return `access-ip-${safe}`;
  }

  /** Records the denial (or counts it when over the limits). Returns whether an event was written. */
  async record(denial: AccessDenial): Promise<boolean> {
    const stream = AccessDeniedRecorder.streamOf(denial);
    if (!this.limiter.hit(stream, PER_SOURCE_LIMIT).allowed) {
      if (this.suppressed.size >= MAX_TRACKED_SOURCES && !this.suppressed.has(stream)) {
        this.globalSuppressed += 1;
      } else {
        this.suppressed.set(stream, (this.suppressed.get(stream) ?? 0) + 1);
      }
      return false;
    }
    // Only denials a source may write count against the global budget.
    if (!this.limiter.hit('*', GLOBAL_LIMIT).allowed) {
      this.globalSuppressed += 1;
      return false;
    }
    const suppressed = this.suppressed.get(stream) ?? 0;
    const globalSuppressed = this.globalSuppressed;
    this.suppressed.delete(stream);
    this.globalSuppressed = 0;
    const at = this.now();
    try {
      await this.store.append(
        stream,
        [
          {
            id: newId(),
            type: ACCESS_DENIED_EVENT,
            data: {
              status: denial.status,
              code: denial.code,
              reason: denial.reason,
              method: denial.method,
              path: denial.path,
              action: denial.action,
              resource: denial.resource,
              ...(denial.details ? { details: denial.details } : {}),
              suppressed,
              ...(globalSuppressed > 0 ? { suppressed_elsewhere: globalSuppressed } : {}),
              at: at.toISOString(),
            },
            metadata: {
              tenantId: denial.tenantId,
              actor: denial.actor ?? ANONYMOUS_ACTOR,
              correlationId: denial.requestId ?? newId(),
              causationId: null,
              requestId: denial.requestId,
              sourceIp: denial.sourceIp,
              occurredAt: at.toISOString(),
              schemaVersion: 1,
            },
          },
        ],
        'any',
      );
      return true;
    } catch (err) {
      this.logger.warn(`recording a denied request failed: ${(err as Error).message}`);
      return false;
    }
  }
}
