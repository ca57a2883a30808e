/**
 * Reading `ovn-nbctl --format=json` / `ovs-vsctl --format=json` output: `{headings, data}` where
 * each cell is an OVSDB datum in JSON (RFC 7047): an atom, `["uuid", u]`, `["set", [...]]` or
 * `["map", [[k, v], ...]]`.
 */

export type OvsdbValue = string | number | boolean | OvsdbValue[] | Record<string, string>;

export type OvsdbRow = Record<string, OvsdbValue>;

function isTagged(cell: unknown, tag: string): cell is [string, unknown] {
  return Array.isArray(cell) && cell.length === 2 && cell[0] === tag;
}

function atom(cell: unknown): string | number | boolean {
  if (isTagged(cell, 'uuid') || isTagged(cell, 'named-uuid')) return String(cell[1]);
  if (typeof cell === 'string' || typeof cell === 'number' || typeof cell === 'boolean') {
    return cell;
  }
  throw new Error(`unexpected OVSDB atom: ${JSON.stringify(cell)}`);
}

/** One datum: a map becomes a record of strings, a set an array (an empty set `[]`). */
export function datum(cell: unknown): OvsdbValue {
  if (isTagged(cell, 'map')) {
    const entries = cell[1] as Array<[unknown, unknown]>;
    return Object.fromEntries(entries.map(([k, v]) => [String(atom(k)), String(atom(v))]));
  }
  if (isTagged(cell, 'set')) return (cell[1] as unknown[]).map(atom);
  return atom(cell);
}

/** Parses the whole table printed with `--format=json`. */
export function parseOvsdbTable(output: string): OvsdbRow[] {
  const trimmed = output.trim();
  if (trimmed === '') return [];
  const parsed = JSON.parse(trimmed) as { headings?: unknown; data?: unknown };
  if (!Array.isArray(parsed.headings) || !Array.isArray(parsed.data)) {
    throw new Error('unexpected OVSDB table output: no headings or data');
  }
  const headings = parsed.headings.map(String);
  return (parsed.data as unknown[][]).map((cells) =>
    Object.fromEntries(headings.map((heading, i) => [heading, datum(cells[i])])),
  );
}

export function mapColumn(row: OvsdbRow, column: string): Record<string, string> {
  const value = row[column];
  if (value === undefined || Array.isArray(value)) return {}; // an empty map prints as a set
  if (typeof value === 'object') return value;
  throw new Error(`column ${column} is not a map`);
}

export function stringColumn(row: OvsdbRow, column: string): string {
  const value = row[column];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

/** A set column (a single element prints as the bare atom). */
export function setColumn(row: OvsdbRow, column: string): string[] {
  const value = row[column];
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'object') return [];
  return [String(value)];
}

/**
 * `key="value"` for ovn-nbctl / ovs-vsctl database commands. The value is quoted as a JSON
 * string, which their parser reads as one string whatever it holds.
 */
export function quotedPair(key: string, value: string | number): string {
  return typeof value === 'number' ? `${key}=${value}` : `${key}=${JSON.stringify(value)}`;
}
