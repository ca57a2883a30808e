/**
 * The grammar of IAM actions and resource ARNs, and wildcard matching.
 *
 * Actions: `<service>:<name>` (`compute:launch`), case-insensitive. Patterns may use `*` anywhere
 * in either part (`compute:*`, `*:list`, `storage:get*`) and `*` alone matches every action.
 *
 * Resources: `arn:nimbus:<service>:<tenant>:<type>/<id>`, e.g.
 * `arn:nimbus:compute:5f0c...:instance/9a1b...`. Patterns may use `*` in any segment; in the
 * service and tenant segments it never crosses a `:`, in `<type>/<id>` it matches anything
 * (including `/`, for nested ids such as object keys). `*` alone matches every resource.
 *
 * Matching is a linear-time glob (only `*` is special), so patterns from user-written policies
 * cannot trigger regular-expression backtracking.
 */

const SERVICE_RE = /^[a-z][a-z0-9-]*$/;
const ACTION_NAME_RE = /^[A-Za-z][A-Za-z0-9]*$/;
const SERVICE_PATTERN_RE = /^[a-z0-9*-]+$/;
const ACTION_NAME_PATTERN_RE = /^[A-Za-z0-9*]+$/;
const TENANT_SEGMENT_RE = /^[A-Za-z0-9*-]+$/;
const TYPE_SEGMENT_RE = /^[a-z0-9*-]+$/;
const ID_RE = /^[^\s]+$/;
const MAX_LENGTH = 1024;

export const ACTION_FORMAT = '"*" or "<service>:<action>" (e.g. "storage:list", "compute:*")';
export const RESOURCE_FORMAT =
  '"*" or "arn:nimbus:<service>:<tenant>:<type>/<id>" (segments may use *)';

/** A concrete action as controllers declare and the guard requests it. */
export function isConcreteAction(action: string): boolean {
  const parts = action.split(':');
  return parts.length === 2 && SERVICE_RE.test(parts[0]) && ACTION_NAME_RE.test(parts[1]);
}

/** A pattern as policy statements and role defaults use it. */
export function isActionPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.length > MAX_LENGTH) return false;
  const parts = pattern.split(':');
  return (
    parts.length === 2 && SERVICE_PATTERN_RE.test(parts[0]) && ACTION_NAME_PATTERN_RE.test(parts[1])
  );
}

interface ArnParts {
  service: string;
  tenant: string;
  /** `<type>/<id>`, or `*` in a pattern. */
  resource: string;
}

function splitArn(arn: string): ArnParts | null {
  const parts = arn.split(':');
  if (parts.length < 5 || parts[0] !== 'arn' || parts[1] !== 'nimbus') return null;
  return { service: parts[2], tenant: parts[3], resource: parts.slice(4).join(':') };
}

function resourcePartValid(resource: string, allowWildcards: boolean): boolean {
  if (allowWildcards && resource === '*') return true;
  const slash = resource.indexOf('/');
  if (slash <= 0) return false;
  const type = resource.slice(0, slash);
  const id = resource.slice(slash + 1);
  if (!TYPE_SEGMENT_RE.test(type) || !ID_RE.test(id)) return false;
  return allowWildcards || (!type.includes('*') && !id.includes('*'));
}

/** A resource pattern: `*` or an ARN whose segments may use `*`. */
export function isResourcePattern(pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.length > MAX_LENGTH) return false;
  const arn = splitArn(pattern);
  if (!arn) return false;
  return (
    SERVICE_PATTERN_RE.test(arn.service) &&
    TENANT_SEGMENT_RE.test(arn.tenant) &&
    resourcePartValid(arn.resource, true)
  );
}

/**
 * A resource as the guard requests it: `*` (actions on no particular resource, such as create),
 * or a concrete ARN whose id may be `*` to mean "the collection" (`instance/*` for a listing).
 */
export function isRequestResource(resource: string): boolean {
  if (resource === '*') return true;
  if (resource.length > MAX_LENGTH) return false;
  const arn = splitArn(resource);
  if (!arn || !SERVICE_RE.test(arn.service) || !/^[A-Za-z0-9-]+$/.test(arn.tenant)) return false;
  const slash = arn.resource.indexOf('/');
  if (slash <= 0) return false;
  const type = arn.resource.slice(0, slash);
  return /^[a-z0-9-]+$/.test(type) && ID_RE.test(arn.resource.slice(slash + 1));
}

/** The ARN of one resource; `id` `*` names the collection of `type` in the tenant. */
export function arnFor(service: string, tenantId: string, type: string, id: string): string {
  return `arn:nimbus:${service}:${tenantId}:${type}/${id}`;
}

/**
 * Glob match where `*` matches any run of characters (possibly empty) and everything else is
 * literal. Greedy with a single backtrack point: O(pattern * text) worst case, no recursion.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether `action` (concrete) matches `pattern`; case-insensitive, `*` never crosses the `:`. */
export function actionMatches(pattern: string, action: string): boolean {
  if (pattern === '*') return true;
  const [patternService, patternName] = pattern.toLowerCase().split(':');
  const [service, name] = action.toLowerCase().split(':');
  if (patternName === undefined || name === undefined) return false;
  return globMatch(patternService, service) && globMatch(patternName, name);
}

/** Whether `resource` (as requested) matches `pattern`; case-sensitive. */
export function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === '*') return true;
  const p = splitArn(pattern);
  const r = splitArn(resource);
  if (!p || !r) return false;
  return (
    globMatch(p.service, r.service) &&
    globMatch(p.tenant, r.tenant) &&
    globMatch(p.resource, r.resource)
  );
}
