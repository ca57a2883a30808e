import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENT_STORE, type EventStore } from '../../../src/eventstore/event-store';
import { PG_POOL } from '../../../src/platform/tokens';
import { verifyTimelineText } from '../../../src/timeline/domain';
import { runVerifyTimeline } from '../../../scripts/verify-timeline';
import type { TestApp } from '../../support/app';
import { startLedgerApp } from './app';
import { signUp, type LedgerAccount } from './accounts';
import { generateHistory } from './history';
import { waitUntilReadable } from '../projections/fixtures';

describe('tenant timeline export', () => {
  let t: TestApp;
  let alpha: LedgerAccount;
  let beta: LedgerAccount;
  let exported: string;
  let publicKeyPem: string;
  let tenantEvents: number;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-timeline-'));

  async function cli(file: string, key?: string): Promise<{ code: number; out: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (out += c.toString()));
    const argv = key ? [file, '--key', key] : [file];
    const code = await runVerifyTimeline(argv, {
      env: { NIMBUS_DATA_DIR: t.config.dataDir },
      stdout,
      stderr,
    });
    return { code, out };
  }

  beforeAll(async () => {
    t = await startLedgerApp('ledger_timeline');
    alpha = await signUp(t, 'tl-alpha');
    beta = await signUp(t, 'tl-beta');
    const start = Date.UTC(2026, 4, 1) / 1000;
    await generateHistory(t.app.get<EventStore>(EVENT_STORE), {
      tenants: [alpha.tenantId, beta.tenantId],
      users: { [alpha.tenantId]: alpha.userId, [beta.tenantId]: beta.userId },
      instancesPerTenant: 8,
      volumesPerTenant: 4,
      start,
      end: start + 10 * 86_400,
      operationsPerInstance: 6,
      seed: 3,
    });
    // The export reads up to the readable head, which trails the newest commit while any older
    // transaction is open: wait until everything this process appended is readable.
    const store = t.app.get<EventStore>(EVENT_STORE);
    const written = store.knownHeadPosition();
    if (written) await waitUntilReadable(store, written);
    const pool = t.app.get<Pool>(PG_POOL);
    const { rows } = await pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM events WHERE metadata->>'tenantId' = $1",
      [alpha.tenantId],
    );
    tenantEvents = Number(rows[0].n);
    const key = await t.inject({ method: 'GET', url: '/.well-known/nimbus-timeline-key' });
    expect(key.statusCode).toBe(200);
    publicKeyPem = key.json<{ public_key_pem: string }>().public_key_pem;
    const res = await t.inject({
      method: 'GET',
      url: `/tenants/${alpha.tenantId}/timeline`,
      headers: alpha.headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="timeline-/);
    exported = res.body;
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports every event of the tenant in order, and the export verifies', async () => {
    const lines = exported.trimEnd().split('\n');
    expect(tenantEvents).toBeGreaterThan(50);
    expect(lines).toHaveLength(tenantEvents + 1);
    const verdict = verifyTimelineText(exported, publicKeyPem);
    expect(verdict).toMatchObject({ ok: true, count: tenantEvents, tenant_id: alpha.tenantId });
    const first = JSON.parse(lines[0]) as { actor: string; action: string; seq: number };
    expect(first.seq).toBe(1);
    const launch = lines.map((l) => JSON.parse(l) as { action: string; actor: string });
    expect(launch.find((l) => l.action === 'INSTANCE_LAUNCH')?.actor).toBe(alpha.email);

    const api = await t.inject({
      method: 'POST',
      url: '/timeline/verify',
      headers: alpha.headers,
      payload: { timeline: exported },
    });
    expect(api.statusCode, api.body).toBe(200);
    expect(api.json()).toMatchObject({ ok: true, count: tenantEvents });

    const file = join(dir, 'ok.ndjson');
    writeFileSync(file, exported);
    const run = await cli(file);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/^OK /);
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, publicKeyPem);
    expect((await cli(file, keyFile)).code).toBe(0);
  });

  it('names the first bad line when a byte is flipped, a line deleted or two lines swapped', async () => {
    const lines = exported.trimEnd().split('\n');
    const flipped = [...lines];
    flipped[4] = flipped[4].replace('"summary":"', '"summary":"X');
    const deleted = lines.filter((_, i) => i !== 6);
    const swapped = [...lines];
    [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
    const cases: Array<[string, string[], number]> = [
      ['flipped', flipped, 5],
      ['deleted', deleted, 7],
      ['swapped', swapped, 3],
    ];
    for (const [name, content, line] of cases) {
      const text = `${content.join('\n')}\n`;
      const verdict = verifyTimelineText(text, publicKeyPem);
      expect(verdict, name).toMatchObject({ ok: false, line });
      const api = await t.inject({
        method: 'POST',
        url: '/timeline/verify',
        headers: alpha.headers,
        payload: { timeline: text },
      });
      expect(api.json(), name).toMatchObject({ ok: false, line });
      const file = join(dir, `${name}.ndjson`);
      writeFileSync(file, text);
      const run = await cli(file);
      expect(run.code, name).toBe(1);
      expect(run.out).toContain(`FAILED at line ${line} `);
    }
    // A truncated file (no manifest) fails too.
    const truncated = `${lines.slice(0, -1).join('\n')}\n`;
    expect(verifyTimelineText(truncated, publicKeyPem)).toMatchObject({
      ok: false,
      reason: 'manifest_missing',
    });
  });

  it('filters by time and exports CSV', async () => {
    const from = '2026-05-03T00:00:00Z';
    const to = '2026-05-05T00:00:00Z';
    const res = await t.inject({
      method: 'GET',
      url: `/tenants/${alpha.tenantId}/timeline?from=${from}&to=${to}`,
      headers: alpha.headers,
    });
    const verdict = verifyTimelineText(res.body, publicKeyPem);
    expect(verdict.ok).toBe(true);
    const lines = res.body.trimEnd().split('\n').slice(0, -1);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(tenantEvents);
    for (const l of lines) {
      const time = (JSON.parse(l) as { time: string }).time;
      expect(time >= from.slice(0, 19) && time < to.slice(0, 19)).toBe(true);
    }
    const csv = await t.inject({
      method: 'GET',
      url: `/tenants/${alpha.tenantId}/timeline?format=csv`,
      headers: alpha.headers,
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = csv.body.trimEnd().split('\r\n');
    expect(rows[0]).toBe('seq,time,actor,action,resource,summary,position,hash');
    expect(rows).toHaveLength(tenantEvents + 2);
    expect(rows[rows.length - 1]).toMatch(/^manifest,/);
  });

  it('replays the tenant state at a past instant with the domain evolve functions', async () => {
    const store = t.app.get<EventStore>(EVENT_STORE);
    const pool = t.app.get<Pool>(PG_POOL);
    const { rows } = await pool.query<{ stream_id: string }>(
      `SELECT stream_id FROM events WHERE metadata->>'tenantId' = $1 AND event_type = 'InstancePaused'
        ORDER BY global_position LIMIT 1`,
      [alpha.tenantId],
    );
    const stream = rows[0].stream_id;
    const instanceId = stream.slice('instance-'.length);
    const events = await store.readStream(stream);
    const at = (type: string) =>
      (events.find((e) => e.type === type) as { metadata: { occurredAt: string } }).metadata
        .occurredAt;
    const state = async (asOf: string) => {
      const res = await t.inject({
        method: 'GET',
        url: `/tenants/${alpha.tenantId}/state?as_of=${asOf}`,
        headers: alpha.headers,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{
        tenant: { id: string; members: unknown[] } | null;
        instances: Array<{ id: string; status: string; instance_type: string }>;
        volumes: unknown[];
        api_keys: unknown[];
      }>();
    };
    const launchedAt = at('InstanceLaunchRequested');
    const before = await state(new Date(Date.parse(launchedAt) - 1000).toISOString());
    expect(before.instances.find((i) => i.id === instanceId)).toBeUndefined();
    const launched = await state(launchedAt);
    expect(launched.instances.find((i) => i.id === instanceId)?.status).toBe('PENDING');
    const paused = await state(at('InstancePaused'));
    expect(paused.instances.find((i) => i.id === instanceId)?.status).toBe('PAUSED');
    const now = await state(new Date().toISOString());
    expect(now.tenant?.id).toBe(alpha.tenantId);
    expect(now.tenant?.members).toHaveLength(1);
    expect(now.instances).toHaveLength(8);
    expect(now.volumes).toHaveLength(4);
    const prehistoric = await state('2000-01-01T00:00:00Z');
    expect(prehistoric).toMatchObject({ tenant: null, instances: [], volumes: [], api_keys: [] });
    const other = await t.inject({
      method: 'GET',
      url: `/tenants/${beta.tenantId}/state`,
      headers: alpha.headers,
    });
    expect(other.statusCode).toBe(404);
  });

  it('a plain member may not export: 403, recorded in the audit log as denied', async () => {
    const added = await t.inject({
      method: 'POST',
      url: `/tenants/${alpha.tenantId}/members`,
      headers: alpha.headers,
      payload: { user_id: beta.userId, role: 'member' },
    });
    expect(added.statusCode, added.body).toBe(201);
    const denied = await t.inject({
      method: 'GET',
      url: `/tenants/${alpha.tenantId}/timeline`,
      headers: { ...beta.headers, 'x-tenant-id': alpha.tenantId },
    });
    expect(denied.statusCode).toBe(403);
    // The AccessDenied event is appended before the 403, but the readable head can trail it on
    // a shared server (an older transaction elsewhere holds the xmin back): wait for the row.
    const rows = await vi.waitFor(
      async () => {
        const page = (
          await t.inject({ method: 'GET', url: '/audit?status=denied', headers: alpha.headers })
        ).json<Array<{ actor: string; status: string; resource: string }>>();
        expect(page.length).toBeGreaterThanOrEqual(1);
        return page;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(rows[0]).toMatchObject({ actor: beta.email, status: 'denied' });
  });

  it("another tenant's timeline is not found; bad parameters are 400", async () => {
    const other = await t.inject({
      method: 'GET',
      url: `/tenants/${beta.tenantId}/timeline`,
      headers: alpha.headers,
    });
    expect(other.statusCode).toBe(404);
    const bad = await t.inject({
      method: 'GET',
      url: `/tenants/${alpha.tenantId}/timeline?from=yesterday`,
      headers: alpha.headers,
    });
    expect(bad.statusCode).toBe(400);
    const anonymous = await t.inject({ method: 'GET', url: `/tenants/${alpha.tenantId}/timeline` });
    expect(anonymous.statusCode).toBe(401);
  });
});
