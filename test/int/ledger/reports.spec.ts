import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_STORE, type EventStore } from '../../../src/eventstore/event-store';
import { Clock } from '../../../src/platform/clock';
import { ReportsService } from '../../../src/reports/reports.service';
import { verifyTimelineText } from '../../../src/timeline/domain';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { REPORTS_PROJECTION } from '../../../projections/reports';
import { newId } from '../../../src/common/ids';
import { CommandExecutor } from '../../../src/eventstore/command-executor';
import { systemContext } from '../../../src/platform/commands/system-context';
import { reportDecider } from '../../../src/reports/domain/report';
import type { TestApp } from '../../support/app';
import { startLedgerApp } from './app';
import { signUp, type LedgerAccount } from './accounts';
import { generateHistory } from './history';

/** The text drawn in an uncompressed PDF: the hex strings of its TJ operators, decoded. */
function pdfText(pdf: Buffer): string {
  const content = pdf.toString('latin1');
  let text = '';
  for (const tj of content.matchAll(/\[([^\]]*)\]\s*TJ/g)) {
    for (const hex of tj[1].matchAll(/<([0-9a-fA-F]*)>/g)) {
      text += Buffer.from(hex[1], 'hex').toString('latin1');
    }
    text += '\n';
  }
  return text;
}

describe('reports', () => {
  let t: TestApp;
  let alpha: LedgerAccount;

  async function generate(payload: Record<string, unknown>) {
    const res = await t.inject({
      method: 'POST',
      url: '/reports/generate',
      headers: alpha.headers,
      payload,
    });
    expect(res.statusCode, res.body).toBe(202);
    const { id } = res.json<{ id: string }>();
    await t.app.get(ReportsService).runOnce();
    const report = await t.inject({ method: 'GET', url: `/reports/${id}`, headers: alpha.headers });
    expect(report.json(), report.body).toMatchObject({ id, status: 'ready' });
    const file = await t.inject({
      method: 'GET',
      url: `/reports/${id}/download`,
      headers: alpha.headers,
    });
    expect(file.statusCode).toBe(200);
    return file;
  }

  beforeAll(async () => {
    t = await startLedgerApp('ledger_reports');
    t.app.get(Clock).set(new Date('2026-04-02T00:00:00Z'));
    alpha = await signUp(t, 'rp-alpha');
    const store = t.app.get<EventStore>(EVENT_STORE);
    const history = await generateHistory(store, {
      tenants: [alpha.tenantId],
      users: { [alpha.tenantId]: alpha.userId },
      instancesPerTenant: 6,
      volumesPerTenant: 3,
      start: Date.UTC(2026, 2, 2) / 1000,
      end: Date.UTC(2026, 2, 30) / 1000,
      operationsPerInstance: 8,
      seed: 11,
    });
    // The history's own last append: the readable head can trail it on a shared server.
    const head = history.lastPosition;
    if (head) {
      const waiter = t.app.get(ProjectionWaiter);
      expect(await waiter.waitFor(head, ['billing.usage', 'audit.log'], 60_000)).toBe(true);
    }
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('builds a readable billing PDF: title, period, totals table, daily cost chart', async () => {
    const file = await generate({ type: 'billing', format: 'pdf', period: '2026-03' });
    expect(file.headers['content-type']).toBe('application/pdf');
    expect(file.headers['content-disposition']).toBe(
      'attachment; filename="nimbus-billing-2026-03.pdf"',
    );
    const pdf = file.rawPayload;
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdfText(pdf);
    expect(text).toContain('Nimbus billing report');
    expect(text).toContain('period 2026-03');
    expect(text).toContain('Totals (USD)');
    expect(text).toContain('Daily cost');
    expect(text).toContain('compute');
    const summary = (
      await t.inject({
        method: 'GET',
        url: '/billing/summary?period=2026-03',
        headers: alpha.headers,
      })
    ).json<{ total_amount: number }>();
    expect(text).toContain(summary.total_amount.toFixed(2));
    // The chart is vector bars: filled rectangles in the content stream.
    expect((pdf.toString('latin1').match(/ re\b/g) ?? []).length).toBeGreaterThan(20);
  });

  it('builds billing CSV and JSON whose totals agree with the summary', async () => {
    const summary = (
      await t.inject({
        method: 'GET',
        url: '/billing/summary?period=2026-03',
        headers: alpha.headers,
      })
    ).json<{ total_amount: number }>();
    const csv = await generate({ type: 'billing', format: 'csv', period: '2026-03' });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const rows = csv.body.trimEnd().split('\r\n');
    expect(rows[0]).toBe(
      'resource_id,resource_type,description,quantity,unit,unit_price,start,end,amount',
    );
    expect(rows[rows.length - 1]).toBe(`total,,,,,,,,${summary.total_amount.toFixed(2)}`);
    const json = await generate({ type: 'billing', format: 'json', period: '2026-03' });
    expect(json.headers['content-type']).toBe('application/json');
    expect(json.json<{ summary: unknown }>().summary).toEqual(summary);
  });

  it('builds audit CSV and a verifiable timeline export; lists reports by format', async () => {
    const audit = await generate({ type: 'audit', format: 'csv', period: '2026-03' });
    const lines = audit.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,timestamp,actor,action,resource,status,ip_address,request_id');
    expect(lines.length).toBeGreaterThan(10);
    expect(audit.body).toContain(alpha.email);
    const timeline = await generate({ type: 'timeline', format: 'json', period: '2026-03' });
    expect(timeline.headers['content-type']).toBe('application/x-ndjson');
    const key = (await t.inject({ method: 'GET', url: '/.well-known/nimbus-timeline-key' })).json<{
      public_key_pem: string;
    }>();
    expect(verifyTimelineText(timeline.body, key.public_key_pem).ok).toBe(true);
    const auditPdf = await generate({ type: 'audit', format: 'pdf' });
    expect(pdfText(auditPdf.rawPayload)).toContain('Nimbus audit report');

    const pdfs = await t.inject({
      method: 'GET',
      url: '/reports?format=pdf',
      headers: alpha.headers,
    });
    const list = pdfs.json<Array<{ format: string; status: string }>>();
    expect(list).toHaveLength(2);
    expect(list.every((r) => r.format === 'pdf' && r.status === 'ready')).toBe(true);
    const limited = await t.inject({
      method: 'GET',
      url: '/reports?limit=1',
      headers: alpha.headers,
    });
    expect(limited.json()).toHaveLength(1);
    const bad = await t.inject({
      method: 'POST',
      url: '/reports/generate',
      headers: alpha.headers,
      payload: { type: 'gossip', format: 'pdf' },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('an accepted request is queued from its event alone: a crash before any row loses no report', async () => {
    // What a process that died right after the append leaves behind: the event, nothing else.
    const reportId = newId();
    const executor = t.app.get(CommandExecutor);
    const { position } = await executor.execute(
      reportDecider,
      reportId,
      {
        type: 'RequestReport',
        reportId,
        tenantId: alpha.tenantId,
        reportType: 'billing',
        format: 'json',
        period: '2026-03',
        now: new Date('2026-04-02T00:00:00Z'),
      },
      systemContext('test', { tenantId: alpha.tenantId }),
    );
    expect(position).not.toBeNull();
    expect(await t.app.get(ProjectionWaiter).waitFor(position!, [REPORTS_PROJECTION], 30_000)).toBe(
      true,
    );
    await t.app.get(ReportsService).runOnce();
    const report = await t.inject({
      method: 'GET',
      url: `/reports/${reportId}`,
      headers: alpha.headers,
    });
    expect(report.json(), report.body).toMatchObject({ id: reportId, status: 'ready' });
  });
});
