import { PassThrough } from 'node:stream';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresEventStore } from '../../../src/eventstore/postgres/postgres-event-store';
import { runCli, type CliContext } from '../../../scripts/projections';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import {
  appendTicks,
  expectedTicks,
  newControl,
  openDataSource,
  openStore,
  readTicks,
  tickProjection,
  waitUntilReadable,
} from './fixtures';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('npm run projections (scripts/projections.ts)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('proj_cli');
    store = await openStore(db.url);
    dataSource = await openDataSource(db.url);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await store?.close();
    await db?.drop();
  });

  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out = capture();
    const err = capture();
    const ctx: CliContext = {
      env: { DATABASE_URL: db.url },
      projections: [tickProjection(newControl(), { bulk: true })],
      stdout: out.stream,
      stderr: err.stream,
    };
    const code = await runCli(argv, ctx);
    return { code, out: out.text(), err: err.text() };
  }

  it('status, rebuild <name>, and status again', async () => {
    const last = await appendTicks(store, 300, { perAppend: 25 });
    await waitUntilReadable(store, last);

    const before = await run(['status']);
    expect(before.code).toBe(0);
    expect(before.out).toMatch(/^NAME\s+VERSION\s+POSITION\s+PROCESSED\s+LAG\s+STATUS/);
    expect(before.out).toMatch(/test\.ticks\s+1\s+\(start\)\s+0\s+301\s+stopped/);

    const rebuilt = await run(['rebuild', 'test.ticks']);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.out).toMatch(
      /^rebuilt test\.ticks: 301 events \(300 applied\) in [\d.]+ s, \d+ events\/s/,
    );
    const expected = await expectedTicks(store);
    expect((await readTicks(dataSource)).list.map((r) => r.event_id)).toEqual(expected.eventIds);

    const after = await run(['status']);
    expect(after.out).toMatch(/test\.ticks\s+1\s+\d+-\d+\s+301\s+0\s+stopped/);

    const unknown = await run(['rebuild', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown or ambiguous projection "nope"; known: test\.ticks/);

    // A bounded context's name stands for its only projection.
    const byContext = await run(['rebuild', 'test']);
    expect(byContext.code).toBe(0);
    expect(byContext.out).toMatch(/^rebuilt test\.ticks: 301 events/);
  });
});
