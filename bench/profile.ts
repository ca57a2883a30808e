/**
 * A light profile for the HTTP bench: counts the SQL statements every pg client sends (one
 * statement is one round trip) and times chosen async methods (stages of a command), so the
 * report can say where a command's time goes without a server-side extension.
 */
import { Client } from 'pg';

interface StatementStats {
  calls: number;
  totalMs: number;
}

interface StageStats {
  calls: number;
  totalMs: number;
}

const statements = new Map<string, StatementStats>();
const stages = new Map<string, StageStats>();
let counting = false;

function statementKey(arg: unknown): string {
  const text =
    typeof arg === 'string'
      ? arg
      : typeof arg === 'object' && arg !== null && 'text' in arg
        ? String(arg.text)
        : '?';
  return text.replace(/\s+/g, ' ').trim().slice(0, 90);
}

/** Wraps pg's Client#query once: every pool and TypeORM connection goes through it. */
export function countStatements(): void {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: Client, ...args: unknown[]): unknown {
    if (!counting) return original.apply(this, args);
    const key = statementKey(args[0]);
    const started = performance.now();
    const stats = statements.get(key) ?? { calls: 0, totalMs: 0 };
    statements.set(key, stats);
    stats.calls++;
    const done = (): void => {
      stats.totalMs += performance.now() - started;
    };
    // pg's Pool and TypeORM pass a callback, other callers take the promise.
    const callback = args[args.length - 1];
    if (typeof callback === 'function') {
      args[args.length - 1] = (...cbArgs: unknown[]): unknown => {
        done();
        return (callback as (...a: unknown[]) => unknown)(...cbArgs);
      };
    }
    const result = original.apply(this, args);
    if (result instanceof Promise) void result.then(done, done);
    return result;
  };
}

/** Times every call of `proto[method]` (an async method) under `label`. */
export function timeStage(proto: object, method: string, label: string): void {
  const target = proto as Record<string, (...args: unknown[]) => unknown>;
  const original = target[method];
  if (typeof original !== 'function') throw new Error(`no method ${method} to time`);
  target[method] = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    if (!counting) return original.apply(this, args);
    const started = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      const stats = stages.get(label) ?? { calls: 0, totalMs: 0 };
      stages.set(label, stats);
      stats.calls++;
      stats.totalMs += performance.now() - started;
    }
  };
}

export function startProfile(): void {
  statements.clear();
  stages.clear();
  counting = true;
}

export interface ProfileReport {
  statementsPerCommand: number;
  statements: Array<{ sql: string; perCommand: number; meanMs: number }>;
  stages: Array<{ stage: string; perCommand: number; meanMs: number }>;
}

export function stopProfile(commands: number): ProfileReport {
  counting = false;
  const per = (n: number) => (commands > 0 ? n / commands : 0);
  const rows = [...statements.entries()]
    .map(([sql, s]) => ({ sql, perCommand: per(s.calls), meanMs: s.totalMs / s.calls }))
    .sort((a, b) => b.perCommand - a.perCommand);
  return {
    statementsPerCommand: per(rows.reduce((n, r) => n + r.perCommand * commands, 0)),
    statements: rows,
    stages: [...stages.entries()].map(([stage, s]) => ({
      stage,
      perCommand: per(s.calls),
      meanMs: s.totalMs / s.calls,
    })),
  };
}

export function printProfile(report: ProfileReport, top = 14): void {
  console.log(`  SQL statements per command: ${report.statementsPerCommand.toFixed(2)}`);
  for (const r of report.statements.slice(0, top)) {
    console.log(`    ${r.perCommand.toFixed(2)}x  ${r.meanMs.toFixed(1).padStart(6)} ms  ${r.sql}`);
  }
  for (const s of report.stages) {
    console.log(
      `  stage ${s.stage.padEnd(28)} ${s.perCommand.toFixed(2)}x per command, mean ${s.meanMs.toFixed(1)} ms`,
    );
  }
}

const appendedAt = new Map<string, number>();
const journeys = new Map<string, StageStats>();

function journey(label: string, ms: number): void {
  const stats = journeys.get(label) ?? { calls: 0, totalMs: 0 };
  journeys.set(label, stats);
  stats.calls++;
  stats.totalMs += ms;
}

interface Positioned {
  position: { commit: bigint; prepare: bigint };
}

/**
 * Times how long an appended event takes to become readable from `$all` (the xmin gate) and
 * how long a projection batch waits to be committed: wraps `append` (which answers the
 * position) and `readAll` (which returns events) of the store's prototype.
 */
export function traceLogReadability(storeProto: object): void {
  const target = storeProto as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const append = target.append;
  const readAll = target.readAll;
  target.append = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const result = (await append.apply(this, args)) as Positioned;
    if (counting) appendedAt.set(String(result.position.prepare), performance.now());
    return result;
  };
  target.readAll = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const events = (await readAll.apply(this, args)) as Positioned[];
    if (counting) {
      const now = performance.now();
      for (const e of events) {
        const key = String(e.position.prepare);
        const at = appendedAt.get(key);
        if (at === undefined) continue;
        appendedAt.delete(key);
        journey('append -> readable in $all', now - at);
      }
      if (events.length > 0) journey('events per $all read', events.length);
    }
    return events;
  };
}

export function printJourneys(): void {
  for (const [label, s] of journeys) {
    console.log(`  ${label.padEnd(34)} mean ${(s.totalMs / s.calls).toFixed(1)} (${s.calls}x)`);
  }
  journeys.clear();
}
