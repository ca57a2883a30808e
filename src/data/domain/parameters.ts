/**
 * The PostgreSQL parameters a tenant may set, each with its accepted values and whether a change
 * takes a reload (`pg_reload_conf()`) or a restart of the server. Values are checked here, so what
 * reaches the engine is always one of these shapes.
 */
import { AppError } from '../../common/errors/app-error';

export type ApplyBy = 'reload' | 'restart';

interface ParameterRule {
  applyBy: ApplyBy;
  /** The accepted text; `check` narrows further (ranges). */
  pattern: RegExp;
  check?: (value: string) => boolean;
  hint: string;
}

const INT = /^\d{1,9}$/;
const SIZE = /^\d{1,7}(kB|MB|GB)?$/;
const between = (min: number, max: number) => (v: string) => Number(v) >= min && Number(v) <= max;

export const PARAMETER_RULES: Readonly<Record<string, ParameterRule>> = {
  max_connections: {
    applyBy: 'restart',
    pattern: INT,
    check: between(10, 1000),
    hint: 'an integer from 10 to 1000',
  },
  shared_buffers: { applyBy: 'restart', pattern: SIZE, hint: 'a size such as 128MB' },
  work_mem: { applyBy: 'reload', pattern: SIZE, hint: 'a size such as 4MB' },
  maintenance_work_mem: { applyBy: 'reload', pattern: SIZE, hint: 'a size such as 64MB' },
  effective_cache_size: { applyBy: 'reload', pattern: SIZE, hint: 'a size such as 4GB' },
  statement_timeout: { applyBy: 'reload', pattern: INT, hint: 'milliseconds, 0 for none' },
  idle_in_transaction_session_timeout: {
    applyBy: 'reload',
    pattern: INT,
    hint: 'milliseconds, 0 for none',
  },
  lock_timeout: { applyBy: 'reload', pattern: INT, hint: 'milliseconds, 0 for none' },
  log_min_duration_statement: {
    applyBy: 'reload',
    pattern: /^(-1|\d{1,9})$/,
    hint: 'milliseconds, -1 to log none',
  },
  random_page_cost: {
    applyBy: 'reload',
    pattern: /^\d{1,3}(\.\d{1,3})?$/,
    hint: 'a number such as 1.1',
  },
};

export const ALLOWED_PARAMETERS = Object.keys(PARAMETER_RULES).sort();

/** 400 validation_error naming every parameter outside the allow-list or with a bad value. */
export function validateParameters(parameters: Record<string, unknown>): Record<string, string> {
  const problems: Array<{ path: string; message: string }> = [];
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parameters)) {
    const rule = PARAMETER_RULES[name];
    if (!rule) {
      problems.push({
        path: `parameters.${name}`,
        message: `${name} is not a parameter you can set (allowed: ${ALLOWED_PARAMETERS.join(', ')})`,
      });
      continue;
    }
    const value = typeof raw === 'number' ? String(raw) : raw;
    if (
      typeof value !== 'string' ||
      !rule.pattern.test(value) ||
      (rule.check && !rule.check(value))
    ) {
      problems.push({ path: `parameters.${name}`, message: `${name} must be ${rule.hint}` });
      continue;
    }
    out[name] = value;
  }
  if (problems.length > 0) {
    throw AppError.validation('parameters are not valid', problems);
  }
  return out;
}

/** How a change of parameters applies: a restart when any changed one needs it. */
export function applyByOf(changed: readonly string[]): ApplyBy | null {
  if (changed.length === 0) return null;
  return changed.some((n) => PARAMETER_RULES[n]?.applyBy === 'restart') ? 'restart' : 'reload';
}
