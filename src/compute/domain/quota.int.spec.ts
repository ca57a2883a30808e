import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors/app-error';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import { PostgresEventStore } from '../../eventstore/postgres/postgres-event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/pg';
import { quotaDecider, usageOf, type QuotaLimits } from './quota';

// The quota stream under real contention: N launches at once against a quota of N-1.
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase('compute_quota');
  store = new PostgresEventStore({ connectionString: db.url, pollIntervalMs: 200 });
  await store.init();
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

function context(): CommandContext {
  return {
    commandId: randomUUID(),
    tenantId: 'tenant-q',
    actor: { type: 'user', id: 'u-1' },
    requestId: null,
    sourceIp: null,
    correlationId: randomUUID(),
    causationId: null,
    now: new Date('2026-05-01T10:00:00.000Z'),
  };
}

describe('quota-<tenant> stream under concurrent reservations', () => {
  it('N concurrent reservations against a limit of N-1: exactly N-1 succeed', async () => {
    const N = 8;
    const tenantId = randomUUID();
    const limits: QuotaLimits = { instances: N - 1, vcpus: 100, memoryMb: 1_000_000, volumes: 10 };
    const executor = new CommandExecutor(store);
    const results = await Promise.allSettled(
      Array.from({ length: N }, (_, i) =>
        executor.execute(
          quotaDecider,
          tenantId,
          {
            type: 'ReserveInstanceCapacity',
            tenantId,
            instanceId: `i-${i}`,
            vcpus: 1,
            memoryMb: 512,
            limits,
            now: new Date(),
          },
          context(),
          // Each round of optimistic concurrency lets at least one writer through, so N writers
          // need at most N attempts; the handler must pass at least its concurrency.
          N + 1,
        ),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(N - 1);
    expect(refused).toHaveLength(1);
    const error = refused[0].reason as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('quota_exceeded');
    expect(error.details).toMatchObject({ resource: 'instances', limit: N - 1, current: N - 1 });

    const { state } = await executor.load(quotaDecider, tenantId);
    expect(usageOf(state)).toMatchObject({ instances: N - 1, vcpus: N - 1 });
  });
});
