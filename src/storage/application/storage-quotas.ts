import { Injectable } from '@nestjs/common';
import type { CommandContext } from '../../kernel/command-context';
import { defineQuota, type QuotaDefinition } from '../../platform/quotas/quota-ledger';
import { QuotaService } from '../../platform/quotas/quota.service';
import {
  objectDecider,
  storedBytesDelta,
  type ObjectCommand,
  type ObjectEvent,
  type ObjectState,
} from '../domain';

export const BUCKET_QUOTA = 'buckets';
export const STORED_BYTES_QUOTA = 'stored_bytes';
/** 10 GiB. */
export const DEFAULT_STORED_BYTES_LIMIT = 10 * 2 ** 30;

/** Object storage's quotas (every tenant's default; operators override them per tenant). */
export const STORAGE_QUOTAS: readonly QuotaDefinition[] = [
  defineQuota({
    name: BUCKET_QUOTA,
    defaultLimit: 100,
    description: 'buckets not deleted (the native API and the S3 endpoint alike)',
  }),
  defineQuota({
    name: STORED_BYTES_QUOTA,
    defaultLimit: DEFAULT_STORED_BYTES_LIMIT,
    description:
      'bytes of every stored object version (delete markers and unfinished multipart parts excluded)',
  }),
];

/** Stored bytes the events add (negative: free). */
export function storedBytesOf(events: readonly ObjectEvent[]): number {
  return events.reduce((sum, e) => sum + storedBytesDelta(e), 0);
}

/**
 * What a write would add on the object's current state (decided as the executor will, so a
 * replacement reserves only its growth); 0 when it would free bytes.
 */
export function bytesToReserve(command: ObjectCommand, state: ObjectState): number {
  return Math.max(0, storedBytesOf(objectDecider.decide(command, state)));
}

/**
 * The `stored_bytes` quota, held per bucket (holder: the bucket id, beside its `buckets: 1`, so
 * deleting the bucket releases both). A write reserves what it would add (`bytesToReserve`, under
 * the object's lock) before it is recorded (refused: 403 `quota_exceeded`, nothing appended), then
 * settles to the recorded events' `storedBytesDelta` (a replaced `null` version gives its bytes
 * back); a delete gives back
 * what its events free. Each adjustment is decided on the tenant's ledger, so concurrent writes
 * add up. `step` tells apart the adjustments of one command (several keys of a DeleteObjects).
 */
@Injectable()
export class StoredBytesQuota {
  constructor(private readonly quotas: QuotaService) {}

  async reserve(
    tenantId: string,
    bucketId: string,
    bytes: number,
    ctx: CommandContext,
    step: string,
  ): Promise<void> {
    await this.adjust(tenantId, bucketId, bytes, ctx, `reserve/${step}`);
  }

  /** Gives back a reservation whose write was not recorded (best effort: the write failed). */
  async cancel(
    tenantId: string,
    bucketId: string,
    bytes: number,
    ctx: CommandContext,
    step: string,
  ): Promise<void> {
    await this.adjust(tenantId, bucketId, -bytes, ctx, `cancel/${step}`).catch(() => undefined);
  }

  /** From `reserved` to what `events` actually store (freeing replaced or removed versions). */
  async settle(
    tenantId: string,
    bucketId: string,
    reserved: number,
    events: readonly ObjectEvent[],
    ctx: CommandContext,
    step: string,
  ): Promise<void> {
    const delta = storedBytesOf(events) - reserved;
    await this.adjust(tenantId, bucketId, delta, ctx, `settle/${step}`);
  }

  private async adjust(
    tenantId: string,
    bucketId: string,
    bytes: number,
    ctx: CommandContext,
    step: string,
  ): Promise<void> {
    if (bytes === 0) return;
    await this.quotas.adjust(
      tenantId,
      { id: bucketId, kind: 'bucket' },
      { [STORED_BYTES_QUOTA]: bytes },
      ctx,
      `stored-bytes/${step}`,
    );
  }
}
