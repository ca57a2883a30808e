/**
 * Commands built from the SDK's operations: a family is a table of operationId → command
 * (families.ts), and everything else comes from the committed document. The `{id}` path
 * parameter is the positional `<id>`; other path parameters, query parameters and the body's
 * top-level fields are options in kebab case (`instance_type` → `--instance-type`, `vpcId` →
 * `--vpc-id`), required where the document requires them, checked by their schema's type:
 *
 *   string (enum: the choices)  --name web-01
 *   number, integer             --size-gb 10
 *   boolean                     --is-public
 *   array of scalars            --names a b c
 *   map of strings              --tags env=prod team=web
 *   anything else               JSON: --volumes '[{"volume_id":"…","mount_path":"/data"}]'
 */
import { Command, Option } from 'commander';
import type { NimbusClient } from '../sdk/client';
import {
  callOperation,
  operation,
  resolveSchema,
  type FieldInfo,
  type JsonSchema,
  type OperationId,
} from '../sdk/operations';
import { UsageError, type CliIo } from './io';
import { waitFor, type WaitSpec } from './wait';

export interface CommandSpec {
  op: OperationId;
  /** Help text; the operation's summary by default. */
  description?: string;
  /** `--wait` follows the resource until it settles. */
  wait?: WaitSpec;
  /** Print this field of the body (`instance` of `{ message, instance }`) when it is set. */
  pick?: string;
  /** Table columns (the family's by default). */
  columns?: string[];
}

export interface Family {
  /** The command: `volumes`. */
  name: string;
  /** The resource in messages and the progress bar: `volume`. */
  kind: string;
  description: string;
  /** Table columns of its resources. */
  columns: string[];
  /** Sub-command name → operation: `{ list: { op: 'listVolumes' } }`. */
  commands: Record<string, CommandSpec>;
}

export interface FamilyContext {
  io: CliIo;
  client(): NimbusClient;
  print(data: unknown, columns?: string[]): void;
}

/** Options of the program itself; a field of the same name would shadow them. */
const RESERVED = new Set(['output', 'query', 'profile', 'endpoint', 'api-key', 'wait', 'help']);

export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}

type Shape = 'string' | 'number' | 'integer' | 'boolean' | 'list' | 'map' | 'json';

function shapeOf(schema: JsonSchema): Shape {
  const s = resolveSchema(schema);
  switch (s.type) {
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
      return s.type;
    case 'array': {
      const item = resolveSchema(s.items);
      return item.type === 'string' || item.type === 'number' || item.type === 'integer'
        ? 'list'
        : 'json';
    }
    case 'object': {
      const extra = s.additionalProperties;
      const stringMap =
        !s.properties && typeof extra === 'object' && resolveSchema(extra).type === 'string';
      return stringMap ? 'map' : 'json';
    }
    case undefined:
      return 'json';
  }
}

interface Binding {
  field: FieldInfo;
  where: 'path' | 'query' | 'body';
  flag: string;
  shape: Shape;
  attribute: string;
}

function describe(field: FieldInfo): string {
  const s = resolveSchema(field.schema);
  const text = (s.description ?? '').split('\n')[0];
  const example = s.example !== undefined ? ` (e.g. ${JSON.stringify(s.example)})` : '';
  return `${text}${example}`.trim();
}

function optionOf(binding: Binding): Option {
  const { flag, shape, field } = binding;
  const arg =
    shape === 'boolean'
      ? ''
      : shape === 'list'
        ? ' <values...>'
        : shape === 'map'
          ? ' <key=value...>'
          : shape === 'json'
            ? ' <json>'
            : ` <${shape === 'string' ? 'value' : 'n'}>`;
  const option = new Option(`--${flag}${arg}`, describe(field));
  const s = resolveSchema(field.schema);
  if (shape === 'string' && s.enum) option.choices(s.enum.map(String));
  if (field.required && shape !== 'boolean') option.makeOptionMandatory();
  return option;
}

function number(flag: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${flag} takes ${integer ? 'an integer' : 'a number'}, got ${raw}`);
  }
  return value;
}

/** The option's value as the API takes it. */
function valueOf(binding: Binding, raw: unknown): unknown {
  const { flag, shape, field } = binding;
  switch (shape) {
    case 'boolean':
      return raw === true;
    case 'number':
    case 'integer':
      return number(flag, String(raw), shape === 'integer');
    case 'list': {
      const item = resolveSchema(resolveSchema(field.schema).items);
      return (raw as string[]).map((v) =>
        item.type === 'string' ? v : number(flag, v, item.type === 'integer'),
      );
    }
    case 'map': {
      const map: Record<string, string> = {};
      for (const pair of raw as string[]) {
        const at = pair.indexOf('=');
        if (at <= 0) throw new UsageError(`--${flag} takes key=value pairs, got ${pair}`);
        map[pair.slice(0, at)] = pair.slice(at + 1);
      }
      return map;
    }
    case 'json': {
      const text = String(raw);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // A field the document types loosely (no type, or an object without properties)
        // takes plain text too.
        const s = resolveSchema(field.schema);
        if (s.type === undefined || (s.type === 'object' && !s.properties)) return text;
        throw new UsageError(`--${flag} takes JSON, got ${text}`);
      }
    }
    case 'string':
      return String(raw);
  }
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** Adds one command per entry of the family's table to `program`. */
export function addFamily(program: Command, family: Family, ctx: FamilyContext): Command {
  const group = program.command(family.name).description(family.description);
  for (const [name, spec] of Object.entries(family.commands)) {
    const op = operation(spec.op);
    const positional = op.pathParams.find((p) => p.name === 'id');
    const command = group
      .command(positional ? `${name} <id>` : name)
      .description(spec.description ?? op.summary);
    const bindings: Binding[] = [];
    const seen = new Map<string, string>();
    const bind = (field: FieldInfo, where: Binding['where']) => {
      const flag = kebab(field.name);
      if (RESERVED.has(flag)) {
        throw new Error(`${family.name} ${name}: field ${field.name} shadows --${flag}`);
      }
      if (seen.has(flag)) {
        throw new Error(`${family.name} ${name}: --${flag} is both ${seen.get(flag)} and ${where}`);
      }
      seen.set(flag, where);
      const binding: Binding = { field, where, flag, shape: shapeOf(field.schema), attribute: '' };
      const option = optionOf(binding);
      binding.attribute = option.attributeName();
      command.addOption(option);
      bindings.push(binding);
    };
    for (const p of op.pathParams) if (p !== positional) bind({ ...p, required: true }, 'path');
    for (const q of op.query) bind(q, 'query');
    for (const f of op.body) bind(f, 'body');
    if (spec.wait) {
      command.option('--wait', `wait until ${spec.wait.until.join(' or ')}, showing progress`);
    }

    command.action(async (...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      const opts = self.opts<Record<string, unknown>>();
      const path: Record<string, string> = {};
      const query: Record<string, unknown> = {};
      const body: Record<string, unknown> = {};
      const id = positional ? String(self.args[0]) : undefined;
      if (id !== undefined) path.id = id;
      for (const binding of bindings) {
        const raw = opts[binding.attribute];
        if (raw === undefined) continue;
        const value = valueOf(binding, raw);
        if (binding.where === 'path') path[binding.field.name] = String(value);
        else if (binding.where === 'query') query[binding.field.name] = value;
        else body[binding.field.name] = value;
      }
      const api = ctx.client();
      const result = await callOperation(api, spec.op, {
        path,
        query,
        ...(op.hasBody ? { body } : {}),
      });
      const columns = spec.columns ?? family.columns;
      if (spec.wait && opts.wait === true) {
        const target = id ?? record(result).id;
        if (typeof target !== 'string') {
          throw new Error(`${family.name} ${name}: the answer names no resource to wait for`);
        }
        ctx.print(await waitFor(api, family.kind, target, spec.wait, ctx.io), columns);
        return;
      }
      if (result === undefined || result === null || result === '') {
        ctx.io.stderr.write(`${family.kind}${id ? ` ${id}` : ''}: ${name} done\n`);
        return;
      }
      const picked = spec.pick ? record(result)[spec.pick] : undefined;
      ctx.print(picked ?? result, columns);
    });
  }
  return group;
}
