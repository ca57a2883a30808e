import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

import { AppError } from '../../common/errors/app-error';
import { fetchSize, paginate, type PageEnvelope, type PageRequest } from '../../common/pagination';
import { CommandExecutor } from '../../eventstore/command-executor';
import type { CommandContext } from '../../kernel/command-context';
import type { Found } from '../../platform/http/after-write';
import { PG_POOL } from '../../platform/tokens';
import {
  secretDecider,
  SECRET_VALUE_MAX_BYTES,
  type SecretOwner,
  type SecretState,
} from '../domain';
import { secretIdFor, type SecretStore } from '../ports/secret-store';
import { SecretSealer } from './secret-sealer';

export const SECRET_SEALER = Symbol('SECRET_SEALER');

/** A secret as the API shows it: never the value. */
export interface SecretView {
  id: string;
  name: string;
  description: string;
  version: number;
  managed_by: { kind: 'database' | 'cache'; id: string } | null;
  rotated_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface SecretValueView {
  id: string;
  name: string;
  version: number;
  value: string;
}

type CreatedKey = [string, string];

interface Row {
  id: string;
  state: SecretState;
  revision: string;
  created_at: Date;
  updated_at: Date;
}

function view(row: Row): SecretView {
  const s = row.state;
  return {
    id: row.id,
    name: s.name as string,
    description: s.description,
    version: s.version,
    managed_by:
      s.owner && s.owner.kind !== 'user' && s.owner.id !== null
        ? { kind: s.owner.kind, id: s.owner.id }
        : null,
    rotated_at: s.rotatedAt,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export { secretIdFor };

export function assertValue(value: string): void {
  if (Buffer.byteLength(value, 'utf8') > SECRET_VALUE_MAX_BYTES || value.length === 0) {
    throw AppError.validation('value must be 1 byte to 64 KiB', [
      { path: 'value', message: `value must be 1 to ${SECRET_VALUE_MAX_BYTES} bytes` },
    ]);
  }
}

/**
 * The secrets store: reads of the read model (metadata), values from the secret's own stream
 * (opened with the master key), and the SecretStore port other contexts keep credentials in.
 */
@Injectable()
export class SecretsService implements SecretStore {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly executor: CommandExecutor,
    @Inject(SECRET_SEALER) private readonly sealer: SecretSealer,
  ) {}

  async secret(tenantId: string, id: string): Promise<Found<SecretView>> {
    const { rows } = await this.pool.query<Row>(
      `SELECT id, state, revision, created_at, updated_at FROM secrets_secrets
       WHERE id = $1 AND tenant_id = $2 AND status = 'active'`,
      [id, tenantId],
    );
    if (!rows[0]) throw AppError.notFound('secret', id);
    return { view: view(rows[0]), revision: rows[0].revision };
  }

  async secrets(
    tenantId: string,
    page: PageRequest<CreatedKey>,
  ): Promise<SecretView[] | PageEnvelope<SecretView>> {
    const params: unknown[] = [tenantId];
    let after = '';
    if (page.after) {
      const key = page.after;
      if (!Array.isArray(key) || key.length !== 2 || Number.isNaN(Date.parse(String(key[0])))) {
        throw AppError.validation('cursor is not valid', [
          { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
        ]);
      }
      params.push(key[0], key[1]);
      after = ' AND (created_at, id) > ($2::timestamptz, $3::uuid)';
    }
    params.push(fetchSize(page));
    const { rows } = await this.pool.query<Row>(
      `SELECT id, state, revision, created_at, updated_at FROM secrets_secrets
       WHERE tenant_id = $1 AND status = 'active'${after} ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const result = paginate(rows, page, (r): CreatedKey => [r.created_at.toISOString(), r.id]);
    return Array.isArray(result)
      ? result.map(view)
      : { items: result.items.map(view), page: result.page };
  }

  /** The value, from the stream (never from the read model); another tenant's secret is 404. */
  async value(tenantId: string, id: string): Promise<SecretValueView> {
    const { state } = await this.executor.load(secretDecider, id);
    if (state.status !== 'active' || state.tenantId !== tenantId || state.sealed === null) {
      throw AppError.notFound('secret', id);
    }
    return {
      id,
      name: state.name as string,
      version: state.version,
      value: this.sealer.open(tenantId, id, state.sealed),
    };
  }

  seal(tenantId: string, secretId: string, value: string): string {
    assertValue(value);
    return this.sealer.seal(tenantId, secretId, value);
  }

  async put(
    input: {
      tenantId: string;
      name: string;
      value: string;
      owner: SecretOwner;
      description: string;
    },
    ctx: CommandContext,
  ): Promise<{ secretId: string; version: number }> {
    const secretId = secretIdFor(input.tenantId, input.name);
    const { state } = await this.executor.load(secretDecider, secretId);
    if (state.status === 'active' && state.sealed !== null) {
      if (this.sealer.open(input.tenantId, secretId, state.sealed) === input.value) {
        return { secretId, version: state.version };
      }
      const rotated = await this.executor.execute(
        secretDecider,
        secretId,
        {
          type: 'RotateSecret',
          sealed: this.seal(input.tenantId, secretId, input.value),
          now: ctx.now,
        },
        ctx,
      );
      return { secretId, version: rotated.state.version };
    }
    const created = await this.executor.execute(
      secretDecider,
      secretId,
      {
        type: 'CreateSecret',
        secretId,
        tenantId: input.tenantId,
        name: input.name,
        description: input.description,
        owner: input.owner,
        sealed: this.seal(input.tenantId, secretId, input.value),
        now: ctx.now,
      },
      ctx,
    );
    return { secretId, version: created.state.version };
  }

  async reveal(tenantId: string, name: string): Promise<string | null> {
    const secretId = secretIdFor(tenantId, name);
    const { state } = await this.executor.load(secretDecider, secretId);
    if (state.status !== 'active' || state.tenantId !== tenantId || state.sealed === null)
      return null;
    return this.sealer.open(tenantId, secretId, state.sealed);
  }

  async remove(tenantId: string, name: string, ctx: CommandContext): Promise<void> {
    const secretId = secretIdFor(tenantId, name);
    const { state } = await this.executor.load(secretDecider, secretId);
    if (state.status !== 'active') return;
    await this.executor.execute(
      secretDecider,
      secretId,
      { type: 'DeleteSecret', now: ctx.now },
      ctx,
    );
  }
}
