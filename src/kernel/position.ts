/**
 * A point in the global order. Opaque to callers: compare with `comparePositions`, serialise with
 * `encodePosition`. PostgreSQL: (transaction id, global sequence); EventStoreDB: (commit, prepare).
 */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export const START: Position = Object.freeze({ commit: 0n, prepare: 0n });

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export function encodePosition(p: Position): string {
  return `${p.commit.toString()}-${p.prepare.toString()}`;
}

export function decodePosition(text: string): Position | null {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(text);
  if (!m) return null;
  return { commit: BigInt(m[1]), prepare: BigInt(m[2]) };
}
