/**
 * Report files. POST appends ReportRequested (audited as REPORT_GENERATE; GenerateReport), the
 * reports projection turns it into a pending row of `reports`, and the worker here builds the file
 * in the background and stores it (bytea). A pending or stale (crashed) generation is picked up
 * again by any process, SKIP LOCKED.
 */
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { AppError } from '../common/errors/app-error';
import { Clock } from '../platform/clock';
import { PG_POOL } from '../platform/tokens';
import type { ReportFormat, ReportType } from './domain/report';
import { ReportBuilders } from './report-builders';

export interface ReportJson {
  id: string;
  type: ReportType;
  format: ReportFormat;
  period: string;
  status: 'pending' | 'generating' | 'ready' | 'failed';
  filename: string | null;
  content_type: string | null;
  size_bytes: number | null;
  error: string | null;
  created_at: string;
  completed_at: string | null;
  download_url: string | null;
}

interface ReportRow {
  id: string;
  tenant_id: string;
  type: ReportType;
  format: ReportFormat;
  period: string;
  status: ReportJson['status'];
  filename: string | null;
  content_type: string | null;
  size_bytes: number | null;
  error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

const COLUMNS =
  'id, tenant_id, type, format, period, status, filename, content_type, size_bytes, error, created_at, completed_at';
const STALE_MS = 10 * 60_000;
const POLL_MS = 1000;
const UNDEFINED_TABLE = '42P01';

function reportJson(r: ReportRow): ReportJson {
  return {
    id: r.id,
    type: r.type,
    format: r.format,
    period: r.period,
    status: r.status,
    filename: r.filename,
    content_type: r.content_type,
    size_bytes: r.size_bytes,
    error: r.error,
    created_at: r.created_at.toISOString(),
    completed_at: r.completed_at?.toISOString() ?? null,
    download_url: r.status === 'ready' ? `/reports/${r.id}/download` : null,
  };
}

@Injectable()
export class ReportsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Reports');
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<number> | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly builders: ReportBuilders,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.schedule();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err: unknown) =>
          this.logger.warn(`report generation failed: ${(err as Error).message}`),
        )
        .finally(() => this.schedule());
    }, POLL_MS);
    this.timer.unref();
  }

  /** Starts building pending reports now rather than at the next poll. */
  kick(): void {
    setImmediate(() => void this.runOnce().catch(() => undefined));
  }

  async list(
    tenantId: string,
    format: ReportFormat | undefined,
    after: [createdAt: string, id: string] | null,
    limit: number,
  ): Promise<ReportJson[]> {
    const { rows } = await this.pool.query<ReportRow>(
      `SELECT ${COLUMNS} FROM reports WHERE tenant_id = $1 AND ($2::text IS NULL OR format = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $5`,
      [tenantId, format ?? null, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
    return rows.map(reportJson);
  }

  async get(tenantId: string, id: string): Promise<ReportJson> {
    const { rows } = await this.pool.query<ReportRow>(
      `SELECT ${COLUMNS} FROM reports WHERE tenant_id = $1 AND id::text = $2`,
      [tenantId, id],
    );
    if (!rows[0]) throw AppError.notFound('report', id);
    return reportJson(rows[0]);
  }

  async file(
    tenantId: string,
    id: string,
  ): Promise<{ filename: string; contentType: string; content: Buffer }> {
    const report = await this.get(tenantId, id);
    if (report.status !== 'ready') {
      throw AppError.invalidState(`report ${id} is ${report.status}`, { status: report.status });
    }
    const { rows } = await this.pool.query<{ content: Buffer }>(
      'SELECT content FROM reports WHERE id = $1',
      [id],
    );
    return {
      filename: report.filename as string,
      contentType: report.content_type as string,
      content: rows[0].content,
    };
  }

  /** Builds every pending report; serialised per process. Returns how many were built. */
  async runOnce(): Promise<number> {
    while (this.running) await this.running.catch(() => 0);
    this.running = this.generatePending();
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  private async generatePending(): Promise<number> {
    let built = 0;
    for (;;) {
      const now = this.clock.now();
      const { rows } = await this.pool
        .query<ReportRow>(
          `UPDATE reports SET status = 'generating', started_at = $1
            WHERE id = (SELECT id FROM reports
                         WHERE status = 'pending' OR (status = 'generating' AND started_at < $2)
                         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING ${COLUMNS}`,
          [now, new Date(now.getTime() - STALE_MS)],
        )
        .catch((error: unknown) => {
          // Before the reports projection's first set-up there is no queue yet.
          if ((error as { code?: string }).code === UNDEFINED_TABLE) return { rows: [] };
          throw error;
        });
      const job = rows[0];
      if (!job) return built;
      try {
        const file = await this.builders.build(job.tenant_id, job.type, job.format, job.period);
        await this.pool.query(
          `UPDATE reports SET status = 'ready', filename = $2, content_type = $3, size_bytes = $4,
             content = $5, completed_at = $6, error = NULL WHERE id = $1`,
          [
            job.id,
            file.filename,
            file.contentType,
            file.content.length,
            file.content,
            this.clock.now(),
          ],
        );
      } catch (err) {
        await this.pool.query(
          `UPDATE reports SET status = 'failed', error = $2, completed_at = $3 WHERE id = $1`,
          [job.id, (err as Error).message, this.clock.now()],
        );
      }
      built += 1;
    }
  }
}
