/**
 * Guards every request passes before any guard, pipe or handler of the application sees it, so
 * no route has to remember them:
 *  - path parameters that name a resource (`id`, `...Id`, `..._id`) must be UUIDs, because every
 *    id Nimbus hands out is one: anything else is 404 `not_found` without a database lookup;
 *  - strings PostgreSQL cannot store (a NUL character, or a UTF-16 surrogate without its pair,
 *    which has no UTF-8 form) in path parameters, query values, or body strings and keys are 400
 *    `validation_error` naming the field;
 *  - JSON bodies nested deeper than MAX_JSON_DEPTH are refused before they are parsed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error';
import { isUuid } from '../../common/ids';

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

/** Whether a path parameter names a resource by id (and so must be a UUID). */
export function isIdParam(name: string): boolean {
  return name === 'id' || /[a-z]Id$/.test(name) || /_id$/.test(name);
}

/**
 * The kind of resource an id parameter names, for messages: `policyId` -> policy,
 * `resource_id` -> resource, `/webhooks/:id` -> webhook.
 */
export function resourceKindOfParam(routeUrl: string, param: string): string {
  if (param !== 'id') return param.replace(/_?[iI]d$/, '').toLowerCase() || 'resource';
  const segments = routeUrl.split('/');
  const before = segments[segments.indexOf(`:${param}`) - 1] ?? '';
  if (before.endsWith('ies')) return `${before.slice(0, -3)}y`;
  if (before.endsWith('s')) return before.slice(0, -1);
  return before || 'resource';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored, or null when it can. */
export function unstorableReason(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain a NUL character';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (an unpaired surrogate was found)';
  return null;
}

export interface UnstorableField {
  path: string;
  message: string;
}

/**
 * The first string (or object key) in a parsed JSON value that the database cannot store, with
 * its field path in the style of validation errors (`statements.0.action.1`). Iterative, so any
 * depth is safe.
 */
export function findUnstorable(value: unknown, root = ''): UnstorableField | null {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: root }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop() as { value: unknown; path: string };
    if (typeof current === 'string') {
      const reason = unstorableReason(current);
      if (reason) return { path: path || 'body', message: reason };
    } else if (Array.isArray(current)) {
      current.forEach((item, i) => stack.push({ value: item, path: join(path, String(i)) }));
    } else if (isPlainObject(current)) {
      for (const [key, item] of Object.entries(current)) {
        const reason = unstorableReason(key);
        if (reason) return { path: path || 'body', message: `a property name ${reason}` };
        stack.push({ value: item, path: join(path, key) });
      }
    }
  }
  return null;
}

function join(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** Parsed JSON objects and query objects; not buffers, dates or streams of upload routes. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (ArrayBuffer.isView(value) || value instanceof Date) return false;
  return typeof (value as { pipe?: unknown }).pipe !== 'function';
}

/**
 * Whether JSON text nests arrays and objects deeper than `max`, by one pass over the text
 * (brackets inside strings do not count). Run before parsing, so no parser or validator ever
 * recurses through a hostile body.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export function jsonTooDeepError(): AppError {
  const message = `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`;
  return AppError.validation(message, [{ path: 'body', message }]);
}

/** An id as it may be shown back in a message: short, printable. */
function shownId(value: string): string {
  const printable = /^[\x21-\x7e]{1,64}$/.test(value);
  return printable ? value : JSON.stringify(value.slice(0, 64)).slice(1, -1);
}

/** Checks one request's path parameters, query and (parsed) body; throws the answer. */
export function checkRequestInput(request: FastifyRequest): void {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const routeUrl = request.routeOptions?.url ?? request.url;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string' || !isIdParam(name) || isUuid(value)) continue;
    const kind = resourceKindOfParam(routeUrl, name);
    const shown = shownId(value);
    throw new AppError('not_found', `${kind} ${shown} not found (ids are UUIDs)`, {
      resource: kind,
      id: shown,
    });
  }
  const fields: UnstorableField[] = [];
  const paramProblem = findUnstorable(params);
  if (paramProblem) fields.push(paramProblem);
  const query = request.query;
  if (isPlainObject(query)) {
    for (const [name, value] of Object.entries(query)) {
      const keyReason = unstorableReason(name);
      const problem = keyReason
        ? { path: shownId(name), message: `a parameter name ${keyReason}` }
        : findUnstorable(value, name);
      if (problem) fields.push(problem);
    }
  }
  const bodyProblem = findUnstorable(request.body);
  if (bodyProblem) fields.push(bodyProblem);
  if (fields.length > 0) {
    const summary =
      fields.length === 1
        ? `${fields[0].path}: ${fields[0].message}`
        : `${fields.length} fields are invalid: ${fields.map((f) => f.path).join(', ')}`;
    throw AppError.validation(summary, fields);
  }
}

/** Installs checkRequestInput on every route (after body parsing, before the application). */
export function registerInputGuards(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    try {
      checkRequestInput(request);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}
