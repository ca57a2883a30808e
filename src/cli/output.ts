import { search } from '@jmespath-community/jmespath';
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

/** Applies a JMESPath expression (`--query`), as the `aws` CLI does. */
export function applyQuery(data: unknown, query: string | undefined): unknown {
  if (!query) return data;
  return search(data as Parameters<typeof search>[0], query);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value) ?? '-';
}

/** Columns of a table: the given ones, else the scalar fields of the first row (at most 8). */
function columnsOf(rows: Record<string, unknown>[], columns?: string[]): string[] {
  if (columns && columns.length > 0) return columns;
  const first = rows[0] ?? {};
  return Object.keys(first)
    .filter((k) => first[k] === null || typeof first[k] !== 'object')
    .slice(0, 8);
}

export function renderTable(data: unknown, columns?: string[]): string {
  if (data === null || data === undefined) return '';
  if (typeof data !== 'object') return `${cell(data)}\n`;
  if (!Array.isArray(data)) {
    const entries = Object.entries(data as Record<string, unknown>);
    const width = Math.max(0, ...entries.map(([k]) => k.length));
    return entries.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join('\n') + '\n';
  }
  const rows: Record<string, unknown>[] = data.map((r: unknown) =>
    typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : { value: r },
  );
  if (rows.length === 0) return '(none)\n';
  const cols = columnsOf(rows, columns);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return (
    [
      line(cols.map((c) => c.toUpperCase())),
      ...rows.map((r) => line(cols.map((c) => cell(r[c])))),
    ].join('\n') + '\n'
  );
}

export function render(data: unknown, format: OutputFormat, columns?: string[]): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(data, null, 2)}\n`;
    case 'yaml':
      return stringify(data);
    case 'table':
      return renderTable(data, columns);
  }
}
