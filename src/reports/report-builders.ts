/**
 * The report files: billing (summary, usage, daily cost), audit (the period's entries) and
 * timeline (the signed export), each as JSON, CSV or PDF.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AUDIT_READS, type AuditReads } from '../audit/ports/audit-reads';
import type { AuditRowJson } from '../audit/domain/actions';
import { BILLING_READS, type BillingReads } from '../billing/ports/billing-reads';
import {
  formatCents,
  formatInstant,
  formatMicros,
  parsePeriod,
  presentCents,
  presentUsageRecord,
  toEpochSeconds,
  type BillingPeriod,
} from '../billing/domain';
import { Clock } from '../platform/clock';
import { csvField } from '../timeline/domain';
import { TimelineExporter } from '../timeline/timeline-export';
import { dailyCost } from './daily-cost';
import { renderPdf } from './pdf';
import type { ReportFormat, ReportType } from './domain/report';

export interface ReportFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

const CONTENT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  pdf: 'application/pdf',
};

function csv(rows: Array<Array<string | number>>): Buffer {
  return Buffer.from(
    rows.map((r) => `${r.map((c) => csvField(c)).join(',')}\r\n`).join(''),
    'utf8',
  );
}

const money = (cents: bigint): string => formatCents(cents);

@Injectable()
export class ReportBuilders {
  constructor(
    @Inject(BILLING_READS) private readonly billing: BillingReads,
    @Inject(AUDIT_READS) private readonly audit: AuditReads,
    private readonly timeline: TimelineExporter,
    private readonly clock: Clock,
  ) {}

  async build(
    tenantId: string,
    type: ReportType,
    format: ReportFormat,
    periodKey: string,
  ): Promise<ReportFile> {
    const period = parsePeriod(periodKey);
    const base = `nimbus-${type}-${period.key}`;
    if (type === 'timeline' && format !== 'pdf') {
      const content = await this.timelineFile(
        tenantId,
        period,
        format === 'csv' ? 'csv' : 'ndjson',
      );
      return format === 'csv'
        ? { filename: `${base}.csv`, contentType: CONTENT_TYPES.csv, content }
        : { filename: `${base}.ndjson`, contentType: 'application/x-ndjson', content };
    }
    const content =
      type === 'billing'
        ? await this.billingFile(tenantId, period, format)
        : type === 'audit'
          ? await this.auditFile(tenantId, period, format)
          : await this.timelinePdf(tenantId, period);
    return { filename: `${base}.${format}`, contentType: CONTENT_TYPES[format], content };
  }

  private subtitle(tenantId: string, period: BillingPeriod): string {
    return `Tenant ${tenantId} · period ${period.key} (${formatInstant(period.start)} to ${formatInstant(period.end - 1)})`;
  }

  private async billingFile(
    tenantId: string,
    period: BillingPeriod,
    format: ReportFormat,
  ): Promise<Buffer> {
    const now = toEpochSeconds(this.clock.now());
    const summary = await this.billing.summary(tenantId, period, now);
    const usage = await this.billing.allUsage(tenantId, period, now);
    if (format === 'json') {
      return Buffer.from(
        JSON.stringify(
          { type: 'billing', period: period.key, summary, usage: usage.map(presentUsageRecord) },
          null,
          2,
        ),
      );
    }
    if (format === 'csv') {
      const total = usage.reduce((s, u) => s + u.amount, 0n);
      return csv([
        [
          'resource_id',
          'resource_type',
          'description',
          'quantity',
          'unit',
          'unit_price',
          'start',
          'end',
          'amount',
        ],
        ...usage.map((u) => [
          u.resourceId,
          u.resourceType,
          u.description,
          u.quantity,
          u.unit,
          formatMicros(u.unitPrice),
          formatInstant(u.start),
          formatInstant(u.end),
          money(presentCents(u.amount)),
        ]),
        ['total', '', '', '', '', '', '', '', money(presentCents(total))],
      ]);
    }
    const days = dailyCost(usage, period.start, Math.min(period.end, Math.max(now, period.start)));
    const top = [...usage].sort((a, b) => (b.amount > a.amount ? 1 : b.amount < a.amount ? -1 : 0));
    return renderPdf({
      title: 'Nimbus billing report',
      subtitle: this.subtitle(tenantId, period),
      generatedAt: this.clock.now().toISOString(),
      sections: [
        {
          heading: 'Totals (USD)',
          table: {
            columns: ['Type', 'Amount'],
            rows: [
              ...Object.entries(summary.usage_by_type).map(([k, v]) => [k, v.toFixed(2)]),
              ['Total', summary.total_amount.toFixed(2)],
            ],
          },
        },
        {
          heading: 'Daily cost',
          chart: {
            title: 'USD per day (UTC)',
            labels: days.map((d) => d.day.slice(8)),
            values: days.map((d) => Number(presentCents(d.amount)) / 100),
            format: (v) => v.toFixed(2),
          },
        },
        {
          heading: `Largest usage items (${Math.min(top.length, 40)} of ${usage.length})`,
          table: {
            columns: ['Resource', 'Description', 'Hours', 'Amount'],
            widths: [150, 200],
            rows: top
              .slice(0, 40)
              .map((u) => [
                u.resourceId,
                u.description,
                ((u.end - u.start) / 3600).toFixed(2),
                money(presentCents(u.amount)),
              ]),
          },
        },
      ],
    });
  }

  private async auditEntries(tenantId: string, period: BillingPeriod): Promise<AuditRowJson[]> {
    const out: AuditRowJson[] = [];
    let after: [string, string] | null = null;
    for (;;) {
      const page = await this.audit.list(
        { tenantId, from: new Date(period.start * 1000), to: new Date(period.end * 1000) },
        after,
        1000,
      );
      out.push(...page.map((p) => p.row));
      if (page.length < 1000) return out.reverse(); // oldest first in a report
      after = page[page.length - 1].key;
    }
  }

  private async auditFile(
    tenantId: string,
    period: BillingPeriod,
    format: ReportFormat,
  ): Promise<Buffer> {
    const entries = await this.auditEntries(tenantId, period);
    if (format === 'json') {
      return Buffer.from(JSON.stringify({ type: 'audit', period: period.key, entries }, null, 2));
    }
    if (format === 'csv') {
      return csv([
        ['id', 'timestamp', 'actor', 'action', 'resource', 'status', 'ip_address', 'request_id'],
        ...entries.map((e) => [
          e.id,
          e.timestamp,
          e.actor,
          e.action,
          e.resource,
          e.status,
          e.ip_address ?? '',
          e.request_id ?? '',
        ]),
      ]);
    }
    const byAction = new Map<string, { success: number; failure: number; denied: number }>();
    for (const e of entries) {
      const c = byAction.get(e.action) ?? { success: 0, failure: 0, denied: 0 };
      c[e.status] += 1;
      byAction.set(e.action, c);
    }
    const perDay = countPerDay(
      entries.map((e) => e.timestamp),
      period,
    );
    return renderPdf({
      title: 'Nimbus audit report',
      subtitle: this.subtitle(tenantId, period),
      generatedAt: this.clock.now().toISOString(),
      sections: [
        {
          heading: `Actions (${entries.length} entries)`,
          table: {
            columns: ['Action', 'Success', 'Failure', 'Denied'],
            rows: [...byAction.entries()]
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([a, c]) => [a, String(c.success), String(c.failure), String(c.denied)]),
          },
        },
        { heading: 'Entries per day', chart: perDay },
        {
          heading: 'Latest entries',
          table: {
            columns: ['Time', 'Actor', 'Action', 'Resource', 'Status'],
            widths: [110, 110, 100],
            rows: entries
              .slice(-40)
              .reverse()
              .map((e) => [e.timestamp.slice(0, 19), e.actor, e.action, e.resource, e.status]),
          },
        },
      ],
    });
  }

  private async timelineFile(
    tenantId: string,
    period: BillingPeriod,
    format: 'ndjson' | 'csv',
  ): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.timeline.export(
      tenantId,
      { from: new Date(period.start * 1000), to: new Date(period.end * 1000) },
      format,
    )) {
      chunks.push(Buffer.from(chunk, 'utf8'));
    }
    return Buffer.concat(chunks);
  }

  private async timelinePdf(tenantId: string, period: BillingPeriod): Promise<Buffer> {
    const text = (await this.timelineFile(tenantId, period, 'ndjson')).toString('utf8');
    const lines = text.trimEnd().split('\n');
    const manifest = JSON.parse(lines.pop() ?? '{}') as Record<string, unknown>;
    const events = lines.map((l) => JSON.parse(l) as { time: string; action: string });
    const byAction = new Map<string, number>();
    for (const e of events) byAction.set(e.action, (byAction.get(e.action) ?? 0) + 1);
    return renderPdf({
      title: 'Nimbus tenant timeline',
      subtitle: this.subtitle(tenantId, period),
      generatedAt: this.clock.now().toISOString(),
      sections: [
        {
          heading: 'Signed manifest',
          text: `${String(manifest.count)} events; final hash ${String(manifest.final_hash)}; signed by key ${String(manifest.key_id)} at ${String(manifest.signed_at)}. The verifiable file is the NDJSON export of the same period.`,
        },
        {
          heading: 'Events per day',
          chart: countPerDay(
            events.map((e) => e.time),
            period,
          ),
        },
        {
          heading: 'Events by action',
          table: {
            columns: ['Action', 'Events'],
            rows: [...byAction.entries()]
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([a, n]) => [a, String(n)]),
          },
        },
      ],
    });
  }
}

function countPerDay(times: string[], period: BillingPeriod) {
  const days = Math.round((period.end - period.start) / 86_400);
  const values = new Array<number>(days).fill(0);
  for (const t of times) {
    const i = Math.floor((toEpochSeconds(t) - period.start) / 86_400);
    if (i >= 0 && i < days) values[i] += 1;
  }
  return {
    title: 'Count per day (UTC)',
    labels: values.map((_, i) => String(i + 1).padStart(2, '0')),
    values,
    format: (v: number) => String(Math.round(v)),
  };
}
