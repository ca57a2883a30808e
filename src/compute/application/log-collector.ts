import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { LOGS_TABLE_SQL } from '../../../projections/compute';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../drivers/docker/compute-driver';
import { PG_POOL } from '../../platform/tokens';
import { COMPUTE_OPTIONS, type ComputeOptions } from './compute-options';
import { ComputeQueries } from './compute-queries';

/** Lines read from the engine per instance and collection. */
const TAIL = 500;

/**
 * Copies the instances' console output (the container's stdout and stderr) from the engine into
 * `compute_logs` (source 'console'), where `GET /logs` searches it together with the platform's
 * lines. Runs periodically and on demand (a read of one instance's logs collects it first).
 * Bounded: at most TAIL new lines per instance and collection, and the newest
 * `maxConsoleLinesPerInstance` kept. Lines are deduplicated by (instance, time, content).
 */
@Injectable()
export class LogCollector {
  private readonly logger = new Logger('compute');
  private tableReady = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    private readonly queries: ComputeQueries,
    @Inject(COMPUTE_OPTIONS) private readonly options: ComputeOptions,
  ) {}

  private async ensureTable(): Promise<void> {
    if (this.tableReady) return;
    await this.pool.query(LOGS_TABLE_SQL);
    this.tableReady = true;
  }

  async collectAll(): Promise<number> {
    let inserted = 0;
    for (const instance of await this.queries.liveInstances()) {
      if (!instance.containerId) continue;
      try {
        inserted += await this.collect(instance.id, instance.tenantId);
      } catch (error) {
        this.logger.warn(`collecting logs of ${instance.id} failed: ${String(error)}`);
      }
    }
    return inserted;
  }

  /** Collects one instance's new console lines; returns how many were stored. */
  async collect(instanceId: string, tenantId: string): Promise<number> {
    await this.ensureTable();
    const { rows } = await this.pool.query<{ last: Date | null }>(
      "SELECT max(at) AS last FROM compute_logs WHERE resource_id = $1 AND source = 'console'",
      [instanceId],
    );
    const last = rows[0]?.last ?? null;
    const lines = await this.driver.logs(instanceId, {
      tail: TAIL,
      ...(last ? { sinceSeconds: Math.floor(last.getTime() / 1000) } : {}),
    });
    if (lines.length === 0) return 0;
    const keys = lines.map((l) =>
      createHash('sha256').update(`${instanceId}\n${l.at}\n${l.stream}\n${l.line}`).digest('hex'),
    );
    const result = await this.pool.query(
      `INSERT INTO compute_logs (tenant_id, resource_id, resource_type, level, source, message, at, dedupe_key)
       SELECT $1, $2, 'instance', lvl, 'console', msg, a, k
       FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::text[]) AS x(lvl, msg, a, k)
       ON CONFLICT (dedupe_key) DO NOTHING`,
      [
        tenantId,
        instanceId,
        lines.map((l) => (l.stream === 'stderr' ? 'WARN' : 'INFO')),
        lines.map((l) => l.line.slice(0, 8192)),
        lines.map((l) => l.at),
        keys.map((k) => `console:${k}`),
      ],
    );
    await this.pool.query(
      `DELETE FROM compute_logs WHERE resource_id = $1 AND source = 'console' AND id <= (
         SELECT id FROM compute_logs WHERE resource_id = $1 AND source = 'console'
         ORDER BY id DESC OFFSET $2 LIMIT 1)`,
      [instanceId, this.options.maxConsoleLinesPerInstance],
    );
    return result.rowCount ?? 0;
  }
}
