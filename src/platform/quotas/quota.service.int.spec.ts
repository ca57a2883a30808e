import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/pg';
import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import { PostgresEventStore } from '../../eventstore/postgres/postgres-event-store';
import type { CommandContext } from '../../kernel/command-context';
import { defineQuota, quotaLedgerDecider } from './quota-ledger';
import { QuotaRegistry, QuotaService } from './quota.service';

// The tenant's ledger under real contention: N creates at once against a limit of N-1, each
// through its own QuotaService (as if from N processes: no shared in-process lock).
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase('platform_quotas');
  store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 200 });
  await store.init();
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

function context(tenantId: string): CommandContext {
  return {
    commandId: randomUUID(),
    tenantId,
    actor: { type: 'user', id: 'u-1' },
    requestId: null,
    sourceIp: null,
    correlationId: randomUUID(),
    causationId: null,
    now: new Date('2026-05-01T10:00:00.000Z'),
  };
}

function service(executor: CommandExecutor, buckets: number): QuotaService {
  const registry = new QuotaRegistry();
  registry.register('storage', [
    defineQuota({ name: 'buckets', defaultLimit: buckets, description: 'buckets' }),
  ]);
  return new QuotaService(executor, registry);
}

describe('quota service on the real event store', () => {
  it('N concurrent reservations from N services against a limit of N-1: exactly N-1 succeed', async () => {
    const N = 8;
    const tenantId = randomUUID();
    const executor = new CommandExecutor(store);
    const results = await Promise.allSettled(
      Array.from({ length: N }, (_, i) =>
        service(executor, N - 1).reserve(
          tenantId,
          { id: `b-${i}`, kind: 'bucket' },
          { buckets: 1 },
          context(tenantId),
        ),
      ),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(N - 1);
    expect(refused).toHaveLength(1);
    const error = refused[0].reason as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('quota_exceeded');
    expect(error.details).toMatchObject({ quota: 'buckets', limit: N - 1, current: N - 1 });

    const quotas = await service(executor, N - 1).ofTenant(tenantId);
    expect(quotas).toEqual([
      expect.objectContaining({ name: 'buckets', limit: N - 1, usage: N - 1, overridden: false }),
    ]);
    // The refused one appended nothing: one event per reservation that got through.
    const events = await store.readStream(`${quotaLedgerDecider.category}-${tenantId}`);
    expect(events.map((e) => e.type)).toEqual(Array(N - 1).fill('QuotaReserved'));
  });

  it('an override raises the limit for one tenant only; a retried reservation appends once', async () => {
    const executor = new CommandExecutor(store);
    const quotas = service(executor, 1);
    const [a, b] = [randomUUID(), randomUUID()];
    await quotas.override(a, { buckets: 2 }, context(a));
    for (const tenant of [a, b]) {
      await quotas.reserve(tenant, { id: 'b-1', kind: 'bucket' }, { buckets: 1 }, context(tenant));
    }
    await quotas.reserve(a, { id: 'b-2', kind: 'bucket' }, { buckets: 1 }, context(a));
    await expect(
      quotas.reserve(b, { id: 'b-2', kind: 'bucket' }, { buckets: 1 }, context(b)),
    ).rejects.toMatchObject({ code: 'quota_exceeded' });

    const retried = context(b);
    await quotas.release(b, 'b-1', retried);
    await quotas.reserve(b, { id: 'b-3', kind: 'bucket' }, { buckets: 1 }, retried);
    await quotas.reserve(b, { id: 'b-3', kind: 'bucket' }, { buckets: 1 }, retried);
    expect(
      (await store.readStream(`${quotaLedgerDecider.category}-${b}`)).map((e) => e.type),
    ).toEqual(['QuotaReserved', 'QuotaReleased', 'QuotaReserved']);
    expect((await quotas.ofTenant(a))[0]).toMatchObject({ limit: 2, usage: 2, overridden: true });
  });
});
