import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Pool } from 'pg';

import { uuidV5 } from '../../common/ids';
import { systemContext } from '../../platform/commands/system-context';
import { Clock } from '../../platform/clock';
import { PG_POOL } from '../../platform/tokens';
import { blobsReleasedBy, objectDecider, type LifecycleRule } from '../domain';
import { StorageAccess } from './storage-access';
import { StoredBytesQuota } from './storage-quotas';

const RUN_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const BATCH = 500;

/**
 * The lifecycle job: every hour, each version (or delete marker) under a rule's prefix older
 * than the rule's `expiration_days` is expired, an `ObjectVersionExpired` event on the object's
 * stream (audited as OBJECT_EXPIRE, actor `system:storage-lifecycle`), and its blob deleted once
 * the event holds. The command id comes from the object and version, so two processes (or a run
 * after a crash) expire a version once; the decider ignores a version already gone.
 */
@Injectable()
export class LifecycleExpiration implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('storage-lifecycle');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly access: StorageAccess,
    private readonly clock: Clock,
    private readonly storedBytes: StoredBytesQuota,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.run(), RUN_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Applies every rule once; returns how many versions expired. One run at a time. */
  run(): Promise<number> {
    this.running ??= this.applyRules().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async applyRules(): Promise<number> {
    const now = this.clock.now();
    const { rows: buckets } = await this.pool.query<{
      id: string;
      tenant_id: string;
      rules: LifecycleRule[];
    }>(
      `SELECT id, tenant_id, state->'lifecycleRules' AS rules FROM storage_buckets
       WHERE status = 'ACTIVE' AND jsonb_array_length(state->'lifecycleRules') > 0`,
    );
    let expired = 0;
    for (const bucket of buckets) {
      for (const rule of bucket.rules) {
        const cutoff = new Date(now.getTime() - rule.expirationDays * DAY_MS);
        for (;;) {
          const { rows } = await this.pool.query<{ object_id: string; version_id: string }>(
            `SELECT object_id, version_id FROM storage_object_versions
             WHERE bucket_id = $1 AND left(key, $2) = $3 AND created_at < $4
             ORDER BY created_at LIMIT $5`,
            [bucket.id, rule.prefix.length, rule.prefix, cutoff, BATCH],
          );
          let progressed = 0;
          for (const row of rows) {
            if (await this.expire(bucket.tenant_id, row.object_id, row.version_id, rule, now)) {
              progressed++;
            }
          }
          expired += progressed;
          if (rows.length < BATCH || progressed === 0) break;
        }
      }
    }
    if (expired > 0) this.logger.log(`expired ${expired} object version(s)`);
    return expired;
  }

  private async expire(
    tenantId: string,
    objectId: string,
    versionId: string,
    rule: LifecycleRule,
    now: Date,
  ): Promise<boolean> {
    const ctx = systemContext('storage-lifecycle', {
      tenantId,
      now,
      commandId: uuidV5(`storage-lifecycle/${objectId}/${versionId}/${rule.ruleId}`),
    });
    try {
      const result = await this.access.objectLocks.run(objectId, () =>
        this.access.executor.execute(
          objectDecider,
          objectId,
          { type: 'ExpireObjectVersion', versionId, ruleId: rule.ruleId, now },
          ctx,
          30,
        ),
      );
      const bucketId = result.events[0]?.data.bucketId;
      if (bucketId) {
        await this.storedBytes.settle(tenantId, bucketId, 0, result.events, ctx, objectId);
      }
      await this.access.releaseBlobs(result.events.flatMap(blobsReleasedBy));
      return result.events.length > 0;
    } catch (err) {
      this.logger.warn(`could not expire ${objectId}/${versionId}: ${(err as Error).message}`);
      return false;
    }
  }
}
