#!/usr/bin/env node
/**
 * `nimbus`: the command line client of the Nimbus API, built on the typed SDK (src/sdk/).
 *
 *   nimbus configure --endpoint http://127.0.0.1:8080 --api-key nmb_...
 *   nimbus instances launch --name web-01 --image busybox --instance-type basic-2 --wait
 *   nimbus instances list --output json --query "[?status=='RUNNING'].id"
 *
 * Exit codes: 0 ok, 1 the API refused (its error code is printed), 2 usage error.
 */
import { writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import {
  createNimbusClient,
  itemsOf,
  NimbusApiError,
  unwrap,
  type NimbusClient,
} from '../sdk/client';
import { configPath, readConfig, resolveProfile, writeConfig } from './config';
import { FAMILIES } from './families';
import { addFamily } from './from-sdk';
import { UsageError, type CliIo } from './io';
import { applyQuery, OUTPUT_FORMATS, render, type OutputFormat } from './output';

interface GlobalOptions {
  profile: string;
  endpoint?: string;
  apiKey?: string;
  output: OutputFormat;
  query?: string;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('nimbus')
    .description('Command line client of the Nimbus cloud API')
    .option('--profile <name>', 'profile of the config file', io.env.NIMBUS_PROFILE || 'default')
    .option('--endpoint <url>', 'API endpoint (overrides the profile and NIMBUS_ENDPOINT)')
    .option('--api-key <key>', 'API key (overrides the profile and NIMBUS_API_KEY)')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(OUTPUT_FORMATS as string[])
        .default('table'),
    )
    .option('--query <jmespath>', 'JMESPath expression applied to the result')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const settings = () => {
    const g = globals();
    const resolved = resolveProfile(readConfig(configPath(io.env)), g.profile, io.env);
    return {
      ...resolved,
      endpoint: g.endpoint ?? resolved.endpoint,
      api_key: g.apiKey ?? resolved.api_key,
    };
  };
  const client = (): NimbusClient => {
    const s = settings();
    return createNimbusClient({ endpoint: s.endpoint, apiKey: s.api_key, tenantId: s.tenant });
  };
  const print = (data: unknown, columns?: string[]) => {
    const g = globals();
    const result = applyQuery(data, g.query);
    // A page envelope shows as its items in a table; the cursor of the next page goes to stderr.
    if (g.output === 'table' && !g.query && isPage(result)) {
      io.stdout.write(render(result.items, 'table', columns));
      if (result.page.next_cursor) io.stderr.write(`next cursor: ${result.page.next_cursor}\n`);
      return;
    }
    io.stdout.write(render(result, g.output, g.query ? undefined : columns));
  };

  // ------------------------------------------------------------------ configure, login
  program
    .command('configure')
    .description('Write a profile to the config file (only the options given change)')
    .option('--endpoint <url>', 'API endpoint')
    .option('--api-key <key>', 'API key')
    .option('--tenant <id>', 'default tenant (X-Tenant-ID)')
    .action((opts: { endpoint?: string; apiKey?: string; tenant?: string }) => {
      const path = configPath(io.env);
      const config = readConfig(path);
      const name = globals().profile;
      const profile = { ...config.profiles[name] };
      const endpoint = opts.endpoint ?? globals().endpoint;
      if (endpoint) profile.endpoint = endpoint;
      if (opts.apiKey ?? globals().apiKey) profile.api_key = opts.apiKey ?? globals().apiKey;
      if (opts.tenant) profile.tenant = opts.tenant;
      config.profiles[name] = profile;
      writeConfig(path, config);
      io.stderr.write(`profile ${name} written to ${path}\n`);
    });

  program
    .command('login')
    .description("Sign in and store the session's API key in the profile")
    .requiredOption('--email <email>')
    .requiredOption('--password <password>')
    .action(async (opts: { email: string; password: string }) => {
      const s = settings();
      const anonymous = createNimbusClient({ endpoint: s.endpoint });
      const session = unwrap(await anonymous.POST('/auth/login', { body: opts }));
      const path = configPath(io.env);
      const config = readConfig(path);
      const name = globals().profile;
      config.profiles[name] = {
        ...config.profiles[name],
        endpoint: s.endpoint,
        api_key: session.api_key ?? undefined,
      };
      writeConfig(path, config);
      io.stderr.write(`logged in as ${opts.email}; profile ${name} written to ${path}\n`);
    });

  // ------------------------------------------------------------------ resource families
  for (const family of FAMILIES) addFamily(program, family, { io, client, print });

  // ------------------------------------------------------------------ audit, billing, timeline, projections
  program
    .command('audit')
    .description("The tenant's audit log, newest first")
    .option('--action <action>')
    .option('--limit <n>', 'entries', (v) => Number.parseInt(v, 10))
    .action(async (opts: { action?: string; limit?: number }) => {
      const query = {
        ...(opts.action ? { action: opts.action } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
      };
      print(itemsOf(unwrap(await client().GET('/audit', { params: { query } }))), [
        'timestamp',
        'actor',
        'action',
        'resource',
        'status',
      ]);
    });

  program
    .command('billing')
    .description('Billing')
    .command('summary')
    .option('--period <yyyy-mm>')
    .action(async (opts: { period?: string }) => {
      const query = opts.period ? { period: opts.period } : {};
      print(unwrap(await client().GET('/billing/summary', { params: { query } })));
    });

  program
    .command('timeline')
    .description("The tenant's signed timeline")
    .command('export')
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--file <path>', 'write the export here (default: stdout)')
    .option('--verify', 'verify the hash chain and signature; prints the verdict')
    .action(async (opts: { tenant: string; file?: string; verify?: boolean }) => {
      const api = client();
      const { data, error, response } = await api.GET('/tenants/{id}/timeline', {
        params: { path: { id: opts.tenant } },
        parseAs: 'text',
      });
      const text = unwrap({ data, error, response });
      if (opts.file) writeFileSync(opts.file, text);
      if (!opts.verify) {
        if (!opts.file) io.stdout.write(text);
        return;
      }
      const verdict = unwrap(await api.POST('/timeline/verify', { body: { timeline: text } }));
      print(verdict);
      if (!verdict.ok) throw new NimbusApiError(422, verdict.reason, verdict.message);
    });

  program
    .command('projections')
    .description('Projections (operators)')
    .command('status')
    .action(async () => {
      print(unwrap(await client().GET('/admin/projections')), [
        'name',
        'version',
        'position',
        'lag',
        'status',
      ]);
    });

  return program;
}

function isPage(value: unknown): value is { items: unknown[]; page: { next_cursor?: string } } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'items' in value &&
    Array.isArray(value.items) &&
    'page' in value &&
    typeof value.page === 'object'
  );
}

/** Runs the CLI; resolves to its exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof NimbusApiError) {
      io.stderr.write(`error: ${error.code}: ${error.message}\n`);
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`error: ${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  }).then((code) => {
    process.exitCode = code;
  });
}
