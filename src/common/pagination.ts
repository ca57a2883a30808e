import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { AppError } from './errors/app-error';
import { isUuid } from './ids';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;
const MAX_CURSOR_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Query parameters of every list route. A route's own query DTO extends it:
 * `class ListVpcsQuery extends PageQuery { @IsOptional() @IsString() state?: string }`.
 */
export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_LIMIT)
  limit?: number;

  @ApiPropertyOptional({
    description: 'Opaque cursor from page.next_cursor; implies the envelope response.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_CURSOR_LENGTH)
  @Matches(BASE64URL, { message: 'cursor must be a cursor returned by a previous page' })
  cursor?: string;

  @ApiPropertyOptional({
    type: Boolean,
    description: 'Return {"items": [...], "page": {...}} instead of a bare array.',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  envelope?: boolean;
}

/** A parsed page request; `after` is the sort key of the last row of the previous page. */
export interface PageRequest<TKey = unknown> {
  limit: number;
  after: TKey | null;
  envelope: boolean;
}

export interface PageInfo {
  limit: number;
  next_cursor: string | null;
  has_more: boolean;
}

export interface PageEnvelope<T> {
  items: T[];
  page: PageInfo;
}

export interface PageOptions {
  /** The route's default page size (50 when the route has none). */
  defaultLimit?: number;
}

/** Encodes a row's sort key as an opaque cursor (base64url JSON). */
export function encodeCursor(sortKey: unknown): string {
  return Buffer.from(JSON.stringify(sortKey), 'utf8').toString('base64url');
}

/** Decodes a cursor; anything that was not made by encodeCursor is a 400 on `cursor`. */
export function decodeCursor<TKey = unknown>(cursor: string): TKey {
  const invalid = () =>
    AppError.validation('cursor is not valid', [
      { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
    ]);
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw invalid();
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as TKey;
  } catch {
    throw invalid();
  }
}

/**
 * Parses `limit`, `cursor` and `envelope` from a query (raw strings or a validated PageQuery).
 * Invalid values are a 400 `validation_error` naming the parameter.
 */
export function parsePage<TKey = unknown>(
  query: { limit?: unknown; cursor?: unknown; envelope?: unknown },
  options: PageOptions = {},
): PageRequest<TKey> {
  const fields: Array<{ path: string; message: string }> = [];
  let limit = options.defaultLimit ?? DEFAULT_PAGE_LIMIT;
  if (query.limit !== undefined && query.limit !== '') {
    const n = typeof query.limit === 'number' ? query.limit : Number(query.limit);
    if (
      !Number.isInteger(n) ||
      n < 1 ||
      n > MAX_PAGE_LIMIT ||
      (typeof query.limit === 'string' && !/^\d+$/.test(query.limit))
    ) {
      fields.push({ path: 'limit', message: `limit must be an integer 1..${MAX_PAGE_LIMIT}` });
    } else {
      limit = n;
    }
  }
  let envelope = false;
  if (query.envelope !== undefined && query.envelope !== '') {
    if (query.envelope === true || query.envelope === 'true') envelope = true;
    else if (query.envelope === false || query.envelope === 'false') envelope = false;
    else fields.push({ path: 'envelope', message: 'envelope must be true or false' });
  }
  let after: TKey | null = null;
  if (query.cursor !== undefined && query.cursor !== '') {
    if (typeof query.cursor !== 'string') {
      fields.push({ path: 'cursor', message: 'cursor must be a string' });
    } else {
      try {
        after = decodeCursor<TKey>(query.cursor);
        envelope = true;
      } catch {
        fields.push({
          path: 'cursor',
          message: 'cursor must be a cursor returned by a previous page',
        });
      }
    }
  }
  if (fields.length > 0) throw AppError.validation('invalid pagination parameters', fields);
  return { limit, after, envelope };
}

/** How many rows to fetch for a page: one more than the limit tells whether another page exists. */
export function fetchSize(page: PageRequest): number {
  return page.limit + 1;
}

/**
 * Turns up to `limit + 1` rows fetched after `page.after` (in sort order) into the response: a
 * bare array, or the envelope when the caller asked for it or paged with a cursor.
 */
export function paginate<T, TKey>(
  rows: readonly T[],
  page: PageRequest<TKey>,
  sortKeyOf: (row: T) => TKey,
): T[] | PageEnvelope<T> {
  const hasMore = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  if (!page.envelope) return items;
  const last = items[items.length - 1];
  return {
    items,
    page: {
      limit: page.limit,
      next_cursor: hasMore && last !== undefined ? encodeCursor(sortKeyOf(last)) : null,
      has_more: hasMore,
    },
  };
}

/** The sort key of a list ordered by creation: `ORDER BY created_at, id`. */
export type CreatedKey = [createdAt: string, id: string];

/** A row's position in a list ordered by creation. */
export function createdKeyOf(row: { created_at: Date; id: string }): CreatedKey {
  return [row.created_at.toISOString(), row.id];
}

/**
 * The SQL condition that continues a list ordered by `(created_at, id)` after `page.after`, with
 * its two values appended to `params` (empty on the first page). A cursor that does not hold a
 * time and a UUID is a 400 on `cursor`, never a database error.
 */
export function afterCreatedKey(page: PageRequest<CreatedKey>, params: unknown[]): string {
  if (page.after === null) return '';
  const after: unknown = page.after;
  if (
    !Array.isArray(after) ||
    after.length !== 2 ||
    typeof after[0] !== 'string' ||
    typeof after[1] !== 'string' ||
    Number.isNaN(Date.parse(after[0])) ||
    !isUuid(after[1])
  ) {
    throw AppError.validation('cursor is not valid', [
      { path: 'cursor', message: 'cursor must be a cursor returned by a previous page' },
    ]);
  }
  params.push(after[0], after[1]);
  return ` AND (created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
}
