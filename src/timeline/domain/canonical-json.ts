/**
 * Canonical JSON: one byte sequence per value, so a hash or a signature over it can be recomputed
 * by anyone from the parsed value. It follows RFC 8785 (JSON Canonicalization Scheme) for the
 * values the timeline uses:
 *
 * - no insignificant whitespace;
 * - object members sorted by key, comparing UTF-16 code units (JavaScript's default string order);
 *   members whose value is `undefined` are left out (as `JSON.stringify` does);
 * - strings escaped as `JSON.stringify` escapes them (`"`, `\`, control characters; everything
 *   else literal UTF-8);
 * - numbers in ECMAScript's shortest round-trip form (`1`, `0.5`, `1e+21`; `-0` prints as `0`);
 *   NaN and infinities are refused. Timeline lines only carry safe integers; positions are text;
 * - only plain objects, arrays, strings, finite numbers, booleans and null; anything else (bigint,
 *   Date, Map, class instances, `undefined` inside arrays) is refused rather than guessed at.
 */

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path}: ${value} is not finite`);
      return JSON.stringify(value);
    case 'object':
      if (Array.isArray(value)) {
        return `[${value
          .map((item: unknown, i) => {
            if (item === undefined) throw new CanonicalJsonError(`${path}[${i}]: undefined`);
            return write(item, `${path}[${i}]`);
          })
          .join(',')}]`;
      }
      return writeObject(value, path);
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new CanonicalJsonError(`${path}: a ${typeof value} has no canonical JSON form`);
  }
  throw new CanonicalJsonError(`${path}: no canonical JSON form`);
}

function writeObject(value: object, path: string): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalJsonError(`${path}: only plain objects have a canonical JSON form`);
  }
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${write(member, `${path}.${key}`)}`);
  }
  return `{${members.join(',')}}`;
}
