/**
 * Pure validation of compute inputs, shared by the DTOs (HTTP 400 before any command) and the
 * deciders (which re-check what they store, so no path can record an invalid instance).
 *
 * Each rule comes in two forms: `xxxProblems(value, path)` returns the problems as
 * `{path, message}` (empty when valid), for DTOs that collect every problem of a body;
 * the `parse`/`assert` forms throw AppError `validation_error` with `details.fields`.
 */
import { AppError } from '../../common/errors/app-error';

export interface FieldProblem {
  path: string;
  message: string;
}

/** 400 validation_error naming every problem; a no-op for an empty list. */
export function throwIfInvalid(problems: FieldProblem[]): void {
  if (problems.length === 0) return;
  throw AppError.validation(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
}

// ---------------------------------------------------------------- resource names

export const RESOURCE_NAME_MAX_LENGTH = 64;
const RESOURCE_NAME_RE = /^[A-Za-z0-9_-]+$/;

/**
 * Names of instances and volumes: 1..64 ASCII letters, digits, `-` and `_`. ASCII only on
 * purpose: names appear in logs, labels and shells, where look-alike letters cause trouble.
 */
export function resourceNameProblems(value: unknown, path = 'name'): FieldProblem[] {
  if (typeof value !== 'string') return [{ path, message: 'must be a string' }];
  if (value.length === 0) return [{ path, message: 'must not be empty' }];
  if (value.length > RESOURCE_NAME_MAX_LENGTH) {
    return [{ path, message: `must be at most ${RESOURCE_NAME_MAX_LENGTH} characters` }];
  }
  if (!RESOURCE_NAME_RE.test(value)) {
    return [{ path, message: 'may contain only letters, digits, "-" and "_"' }];
  }
  return [];
}

export const instanceNameProblems = resourceNameProblems;
export const volumeNameProblems = resourceNameProblems;

export function assertInstanceName(value: unknown, path = 'name'): string {
  throwIfInvalid(instanceNameProblems(value, path));
  return value as string;
}

// ---------------------------------------------------------------- ports

export interface PortMapping {
  /** Port published on the host (TCP). */
  host: number;
  /** Port inside the container (TCP). */
  container: number;
}

export const MAX_PORT_MAPPINGS = 10;
export const MIN_PORT = 1;
export const MAX_PORT = 65535;

function portNumberProblem(raw: string): string | null {
  if (!/^\d{1,5}$/.test(raw)) return `"${raw}" is not a port number`;
  const n = Number(raw);
  if (n < MIN_PORT || n > MAX_PORT) return `${n} is out of range ${MIN_PORT}..${MAX_PORT}`;
  return null;
}

/**
 * Parses `"host:container[,host:container]"` (spaces around items allowed; an empty string or
 * absent value means no ports). Returns the mappings or the problems, never both.
 */
export function parsePortMappings(
  value: unknown,
  path = 'ports',
): { mappings: PortMapping[]; problems: FieldProblem[] } {
  if (value === undefined || value === null) return { mappings: [], problems: [] };
  if (typeof value !== 'string') {
    return { mappings: [], problems: [{ path, message: 'must be a string like "80:80,443:443"' }] };
  }
  if (value.trim() === '') return { mappings: [], problems: [] };
  const items = value.split(',').map((s) => s.trim());
  if (items.length > MAX_PORT_MAPPINGS) {
    return {
      mappings: [],
      problems: [
        { path, message: `has ${items.length} mappings; at most ${MAX_PORT_MAPPINGS} are allowed` },
      ],
    };
  }
  const problems: FieldProblem[] = [];
  const mappings: PortMapping[] = [];
  items.forEach((item, index) => {
    const parts = item.split(':');
    if (parts.length !== 2) {
      problems.push({
        path: `${path}[${index}]`,
        message: `"${item}" must be "host:container", e.g. "8080:80"`,
      });
      return;
    }
    const [host, container] = parts as [string, string];
    const hostProblem = portNumberProblem(host);
    const containerProblem = portNumberProblem(container);
    if (hostProblem)
      problems.push({ path: `${path}[${index}]`, message: `host port ${hostProblem}` });
    if (containerProblem) {
      problems.push({ path: `${path}[${index}]`, message: `container port ${containerProblem}` });
    }
    if (!hostProblem && !containerProblem) {
      mappings.push({ host: Number(host), container: Number(container) });
    }
  });
  if (problems.length === 0) problems.push(...portMappingProblems(mappings, path));
  return problems.length === 0 ? { mappings, problems } : { mappings: [], problems };
}

/** The throwing form of `parsePortMappings`. */
export function parsePorts(value: unknown, path = 'ports'): PortMapping[] {
  const { mappings, problems } = parsePortMappings(value, path);
  throwIfInvalid(problems);
  return mappings;
}

/** Structural checks of already parsed mappings (count, ranges, duplicate host ports). */
export function portMappingProblems(
  mappings: readonly PortMapping[],
  path = 'ports',
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (mappings.length > MAX_PORT_MAPPINGS) {
    problems.push({
      path,
      message: `has ${mappings.length} mappings; at most ${MAX_PORT_MAPPINGS} are allowed`,
    });
  }
  const seen = new Set<number>();
  mappings.forEach((m, index) => {
    for (const [side, port] of [
      ['host', m.host],
      ['container', m.container],
    ] as const) {
      if (!Number.isInteger(port) || port < MIN_PORT || port > MAX_PORT) {
        problems.push({
          path: `${path}[${index}]`,
          message: `${side} port ${String(port)} is out of range ${MIN_PORT}..${MAX_PORT}`,
        });
      }
    }
    if (seen.has(m.host)) {
      problems.push({
        path: `${path}[${index}]`,
        message: `host port ${m.host} appears more than once`,
      });
    }
    seen.add(m.host);
  });
  return problems;
}

/** Back to the API's string form: [{host: 80, container: 8080}] -> "80:8080". */
export function formatPorts(mappings: readonly PortMapping[]): string {
  return mappings.map((m) => `${m.host}:${m.container}`).join(',');
}

// ---------------------------------------------------------------- volume mounts

export interface VolumeMount {
  volumeId: string;
  mountPath: string;
}

export const MOUNT_PATH_MAX_LENGTH = 255;
export const MAX_VOLUME_MOUNTS = 16;

export function mountPathProblems(value: unknown, path = 'mount_path'): FieldProblem[] {
  if (typeof value !== 'string') return [{ path, message: 'must be a string' }];
  if (value.length === 0) return [{ path, message: 'must not be empty' }];
  if (value.length > MOUNT_PATH_MAX_LENGTH) {
    return [{ path, message: `must be at most ${MOUNT_PATH_MAX_LENGTH} characters` }];
  }
  if (!value.startsWith('/')) return [{ path, message: 'must be an absolute path' }];
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f,:]/.test(value)) {
    // ":" and "," would be read as separators by Docker's mount syntax.
    return [{ path, message: 'must not contain control characters, ":" or ","' }];
  }
  const segments = value.split('/').filter((s) => s !== '');
  if (segments.length === 0) return [{ path, message: 'must not be the root directory' }];
  if (segments.some((s) => s === '..' || s === '.')) {
    return [{ path, message: 'must not contain "." or ".." segments' }];
  }
  return [];
}

/** "/data//x/" -> "/data/x": the form stored and compared for duplicates. */
export function normalizeMountPath(value: string): string {
  return (
    '/' +
    value
      .split('/')
      .filter((s) => s !== '')
      .join('/')
  );
}

/** A list of mounts: each valid, at most 16, no volume twice, no mount path twice. */
export function volumeMountProblems(mounts: unknown, path = 'volumes'): FieldProblem[] {
  if (mounts === undefined || mounts === null) return [];
  if (!Array.isArray(mounts)) return [{ path, message: 'must be an array' }];
  const problems: FieldProblem[] = [];
  if (mounts.length > MAX_VOLUME_MOUNTS) {
    problems.push({ path, message: `at most ${MAX_VOLUME_MOUNTS} volumes may be attached` });
  }
  const volumes = new Set<string>();
  const paths = new Set<string>();
  mounts.forEach((raw: unknown, index) => {
    const at = `${path}[${index}]`;
    if (typeof raw !== 'object' || raw === null) {
      problems.push({ path: at, message: 'must be an object {volume_id, mount_path}' });
      return;
    }
    const { volumeId, mountPath } = raw as Partial<Record<keyof VolumeMount, unknown>>;
    if (typeof volumeId !== 'string' || volumeId === '') {
      problems.push({ path: `${at}.volume_id`, message: 'is required' });
    } else if (volumes.has(volumeId)) {
      problems.push({ path: `${at}.volume_id`, message: `volume ${volumeId} appears twice` });
    } else {
      volumes.add(volumeId);
    }
    const pathProblems = mountPathProblems(mountPath, `${at}.mount_path`);
    problems.push(...pathProblems);
    if (pathProblems.length === 0) {
      const normalized = normalizeMountPath(mountPath as string);
      if (paths.has(normalized)) {
        problems.push({ path: `${at}.mount_path`, message: `${normalized} is used twice` });
      }
      paths.add(normalized);
    }
  });
  return problems;
}

// ---------------------------------------------------------------- tags

export type Tags = Record<string, string>;

export const MAX_TAGS = 50;
export const TAG_KEY_MAX_LENGTH = 128;
export const TAG_VALUE_MAX_LENGTH = 256;
/** Keys under this prefix are written by Nimbus itself (labels on containers), not by users. */
export const RESERVED_TAG_PREFIX = 'nimbus:';
// Letters and digits of any script, spaces and the punctuation most clouds accept in tags.
const TAG_TEXT_RE = /^[\p{L}\p{N} _.:/=+\-@]*$/u;

export function tagsProblems(value: unknown, path = 'tags'): FieldProblem[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ path, message: 'must be an object of string keys and string values' }];
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const problems: FieldProblem[] = [];
  if (entries.length > MAX_TAGS) {
    problems.push({ path, message: `has ${entries.length} tags; at most ${MAX_TAGS} are allowed` });
  }
  for (const [key, tagValue] of entries) {
    const at = `${path}.${key}`;
    const keyLength = [...key].length;
    if (keyLength === 0 || keyLength > TAG_KEY_MAX_LENGTH) {
      problems.push({ path: at, message: `key must be 1..${TAG_KEY_MAX_LENGTH} characters` });
    } else if (!TAG_TEXT_RE.test(key)) {
      problems.push({
        path: at,
        message: 'key may contain letters, digits, spaces and _ . : / = + - @',
      });
    } else if (key.toLowerCase().startsWith(RESERVED_TAG_PREFIX)) {
      problems.push({
        path: at,
        message: `keys starting with "${RESERVED_TAG_PREFIX}" are reserved`,
      });
    }
    if (typeof tagValue !== 'string') {
      problems.push({ path: at, message: 'value must be a string' });
    } else if ([...tagValue].length > TAG_VALUE_MAX_LENGTH) {
      problems.push({
        path: at,
        message: `value must be at most ${TAG_VALUE_MAX_LENGTH} characters`,
      });
    } else if (!TAG_TEXT_RE.test(tagValue)) {
      problems.push({
        path: at,
        message: 'value may contain letters, digits, spaces and _ . : / = + - @',
      });
    }
  }
  return problems;
}

export function sameTags(a: Readonly<Tags>, b: Readonly<Tags>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

// ---------------------------------------------------------------- user data

/** cloud-init style user data, stored in the launch event: bounded like other clouds do. */
export const USER_DATA_MAX_BYTES = 16 * 1024;

export function userDataProblems(value: unknown, path = 'user_data'): FieldProblem[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'string') return [{ path, message: 'must be a string' }];
  if (Buffer.byteLength(value, 'utf8') > USER_DATA_MAX_BYTES) {
    return [{ path, message: `must be at most ${USER_DATA_MAX_BYTES} bytes` }];
  }
  return [];
}

// ---------------------------------------------------------------- volumes and images

export const MIN_VOLUME_SIZE_GB = 1;
export const MAX_VOLUME_SIZE_GB = 16384;

export function volumeSizeProblems(value: unknown, path = 'size_gb'): FieldProblem[] {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return [{ path, message: 'must be an integer number of GB' }];
  }
  if (value < MIN_VOLUME_SIZE_GB || value > MAX_VOLUME_SIZE_GB) {
    return [{ path, message: `must be between ${MIN_VOLUME_SIZE_GB} and ${MAX_VOLUME_SIZE_GB}` }];
  }
  return [];
}

export const IMAGE_NAME_MAX_LENGTH = 128;
const IMAGE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Image names: 1..128 of letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export function imageNameProblems(value: unknown, path = 'name'): FieldProblem[] {
  if (typeof value !== 'string') return [{ path, message: 'must be a string' }];
  if (value.length === 0) return [{ path, message: 'must not be empty' }];
  if (value.length > IMAGE_NAME_MAX_LENGTH) {
    return [{ path, message: `must be at most ${IMAGE_NAME_MAX_LENGTH} characters` }];
  }
  if (!IMAGE_NAME_RE.test(value)) {
    return [
      {
        path,
        message:
          'may contain only letters, digits, ".", "_" and "-", and must start with a letter or digit',
      },
    ];
  }
  return [];
}

/** Free text fields (description, os, version): bounded, no control characters but newlines. */
export function textProblems(
  value: unknown,
  path: string,
  maxLength: number,
  required = false,
): FieldProblem[] {
  if (value === undefined || value === null) {
    return required ? [{ path, message: 'is required' }] : [];
  }
  if (typeof value !== 'string') return [{ path, message: 'must be a string' }];
  if (required && value.trim() === '') return [{ path, message: 'must not be empty' }];
  if ([...value].length > maxLength) {
    return [{ path, message: `must be at most ${maxLength} characters` }];
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(value)) {
    return [{ path, message: 'must not contain control characters' }];
  }
  return [];
}

export const IMPORT_URL_MAX_LENGTH = 2048;

/** Image import sources: absolute http or https URLs with a host, no credentials in them. */
export function importUrlProblems(value: unknown, path = 'url'): FieldProblem[] {
  if (typeof value !== 'string' || value === '') return [{ path, message: 'is required' }];
  if (value.length > IMPORT_URL_MAX_LENGTH) {
    return [{ path, message: `must be at most ${IMPORT_URL_MAX_LENGTH} characters` }];
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [{ path, message: 'must be an absolute URL' }];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return [{ path, message: 'must use http or https' }];
  }
  if (url.hostname === '') return [{ path, message: 'must name a host' }];
  if (url.username !== '' || url.password !== '') {
    return [{ path, message: 'must not carry credentials' }];
  }
  return [];
}
