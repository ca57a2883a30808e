import { describe, expect, it } from 'vitest';
import { AppError } from './errors/app-error';
import {
  afterCreatedKey,
  createdKeyOf,
  decodeCursor,
  encodeCursor,
  fetchSize,
  paginate,
  parsePage,
  type CreatedKey,
  type PageRequest,
} from './pagination';

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('validation_error');
    return ((err as AppError).details?.fields as Array<{ path: string }>).map((f) => f.path);
  }
  throw new Error('expected a validation error');
}

describe('parsePage', () => {
  it('defaults to 50, no cursor, bare array', () => {
    expect(parsePage({})).toEqual({ limit: 50, after: null, envelope: false });
  });

  it("uses the route's default limit", () => {
    expect(parsePage({}, { defaultLimit: 20 }).limit).toBe(20);
  });

  it('accepts limits 1..200 as strings or numbers', () => {
    expect(parsePage({ limit: '1' }).limit).toBe(1);
    expect(parsePage({ limit: 200 }).limit).toBe(200);
  });

  it.each(['0', '201', '1.5', 'ten', '-3', '1e2'])('rejects limit=%s', (limit) => {
    expect(fieldsOf(() => parsePage({ limit }))).toEqual(['limit']);
  });

  it('envelope=true asks for the envelope', () => {
    expect(parsePage({ envelope: 'true' }).envelope).toBe(true);
    expect(parsePage({ envelope: 'false' }).envelope).toBe(false);
    expect(fieldsOf(() => parsePage({ envelope: 'yes' }))).toEqual(['envelope']);
  });

  it('a cursor implies the envelope and decodes to the sort key', () => {
    const cursor = encodeCursor(['2024-01-01T00:00:00Z', 'id-9']);
    expect(parsePage({ cursor })).toEqual({
      limit: 50,
      after: ['2024-01-01T00:00:00Z', 'id-9'],
      envelope: true,
    });
  });

  it('rejects a cursor it did not make', () => {
    expect(fieldsOf(() => parsePage({ cursor: 'not a cursor!' }))).toEqual(['cursor']);
    expect(fieldsOf(() => parsePage({ cursor: 'bm90IGpzb24' }))).toEqual(['cursor']);
  });

  it('reports every bad parameter', () => {
    expect(fieldsOf(() => parsePage({ limit: '0', envelope: 'x', cursor: '%%' }))).toEqual([
      'limit',
      'envelope',
      'cursor',
    ]);
  });
});

describe('cursors', () => {
  it('round-trip and are url-safe', () => {
    const key = { created_at: '2024-05-01T10:00:00.000Z', id: 'a/b+c' };
    const cursor = encodeCursor(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(key);
  });
});

describe('paginate', () => {
  const rows = [{ id: 1 }, { id: 2 }, { id: 3 }];

  it('returns a bare array without the envelope', () => {
    expect(paginate(rows, { limit: 2, after: null, envelope: false }, (r) => r.id)).toEqual([
      { id: 1 },
      { id: 2 },
    ]);
  });

  it('signals more rows with the last returned row as cursor', () => {
    const page = { limit: 2, after: null, envelope: true };
    expect(fetchSize(page)).toBe(3);
    const result = paginate(rows, page, (r) => r.id);
    expect(result).toEqual({
      items: [{ id: 1 }, { id: 2 }],
      page: { limit: 2, next_cursor: encodeCursor(2), has_more: true },
    });
  });

  it('ends with next_cursor null', () => {
    expect(paginate(rows, { limit: 5, after: null, envelope: true }, (r) => r.id)).toEqual({
      items: rows,
      page: { limit: 5, next_cursor: null, has_more: false },
    });
  });
});

describe('afterCreatedKey', () => {
  const id = '0b7c1a52-6f1e-4d8a-9c3b-2a1d5e6f7a80';
  const pageAfter = (after: unknown): PageRequest<CreatedKey> => ({
    limit: 10,
    after: after as CreatedKey,
    envelope: true,
  });

  it('adds nothing on the first page', () => {
    const params: unknown[] = ['tenant'];
    expect(afterCreatedKey({ limit: 10, after: null, envelope: false }, params)).toBe('');
    expect(params).toEqual(['tenant']);
  });

  it('continues after the previous page, numbering its parameters after the existing ones', () => {
    const params: unknown[] = ['tenant'];
    const key = createdKeyOf({ created_at: new Date('2026-12-01T10:00:00Z'), id });
    expect(afterCreatedKey(pageAfter(key), params)).toBe(
      ' AND (created_at, id) > ($2::timestamptz, $3::uuid)',
    );
    expect(params).toEqual(['tenant', '2026-12-01T10:00:00.000Z', id]);
  });

  it.each([
    ['not a pair', 'x'],
    ['a bad time', ['yesterday', id]],
    ['an id that is not a UUID', ['2026-12-01T10:00:00.000Z', '1; DROP TABLE x']],
    ['a number for the id', ['2026-12-01T10:00:00.000Z', 7]],
    ['three parts', ['2026-12-01T10:00:00.000Z', id, id]],
  ])('rejects a cursor holding %s as a 400 on cursor', (_name, after) => {
    expect(fieldsOf(() => afterCreatedKey(pageAfter(after), []))).toEqual(['cursor']);
  });
});
