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
import { SingleBar } from 'cli-progress';
import {
  createNimbusClient,
  itemsOf,
  NimbusApiError,
  unwrap,
  type NimbusClient,
  type Schemas,
} from '../sdk/client';
import { configPath, readConfig, resolveProfile, writeConfig } from './config';
import { applyQuery, OUTPUT_FORMATS, render, type OutputFormat } from './output';

interface GlobalOptions {
  profile: string;
  endpoint?: string;
  apiKey?: string;
  output: OutputFormat;
  query?: string;
}

/** A usage error: exit code 2. */
class UsageError extends Error {}

const INSTANCE_COLUMNS = [
  'id',
  'name',
  'status',
  'image',
  'instance_type',
  'private_ip',
  'created_at',
];

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
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

  // ------------------------------------------------------------------ instances
  const instances = program.command('instances').description('Compute instances');
  instances
    .command('list')
    .option('--status <status>', 'only instances in this status (RUNNING, STOPPED...)')
    .action(async (opts: { status?: Schemas['Instance']['status'] }) => {
      const query = opts.status ? { status: opts.status } : {};
      print(
        itemsOf(unwrap(await client().GET('/instances', { params: { query } }))),
        INSTANCE_COLUMNS,
      );
    });
  instances.command('get <id>').action(async (id: string) => {
    print(unwrap(await client().GET('/instances/{id}', { params: { path: { id } } })));
  });
  instances
    .command('launch')
    .requiredOption('--name <name>')
    .requiredOption('--image <image>', 'image name or id')
    .requiredOption('--instance-type <type>', 'instance type id (basic-2...)')
    .option('--tag <key=value...>', 'tags')
    .option('--wait', 'wait until RUNNING (fails with the error_reason on ERROR)')
    .action(
      async (opts: {
        name: string;
        image: string;
        instanceType: string;
        tag?: string[];
        wait?: boolean;
      }) => {
        const api = client();
        const launched = unwrap(
          await api.POST('/instances', {
            body: {
              name: opts.name,
              image: opts.image,
              instance_type: opts.instanceType,
              ...(opts.tag ? { tags: parseTags(opts.tag) } : {}),
            },
          }),
        );
        print(
          opts.wait ? await waitFor(api, launched.id, ['RUNNING'], io) : launched,
          INSTANCE_COLUMNS,
        );
      },
    );
  for (const action of ['stop', 'start'] as const) {
    instances
      .command(`${action} <id>`)
      .option('--wait', `wait until ${action === 'stop' ? 'STOPPED' : 'RUNNING'}`)
      .action(async (id: string, opts: { wait?: boolean }) => {
        const api = client();
        const path = action === 'stop' ? '/instances/{id}/stop' : '/instances/{id}/start';
        const result = unwrap(await api.POST(path, { params: { path: { id } } }));
        const target = action === 'stop' ? 'STOPPED' : 'RUNNING';
        print(
          opts.wait
            ? await waitFor(api, id, [target], io)
            : 'instance' in result && result.instance
              ? result.instance
              : { id },
        );
      });
  }
  instances
    .command('terminate <id>')
    .option('--wait', 'wait until TERMINATED')
    .action(async (id: string, opts: { wait?: boolean }) => {
      const api = client();
      const result = unwrap(await api.DELETE('/instances/{id}', { params: { path: { id } } }));
      print(opts.wait ? await waitFor(api, id, ['TERMINATED'], io) : result);
    });
  instances
    .command('resize <id>')
    .requiredOption('--instance-type <type>')
    .action(async (id: string, opts: { instanceType: string }) => {
      const result = unwrap(
        await client().POST('/instances/{id}/resize', {
          params: { path: { id } },
          body: { instance_type: opts.instanceType },
        }),
      );
      print('instance' in result && result.instance ? result.instance : { id });
    });

  // ------------------------------------------------------------------ volumes, images, keys
  const volumes = program.command('volumes').description('Volumes');
  volumes.command('list').action(async () => {
    print(itemsOf(unwrap(await client().GET('/volumes'))), [
      'id',
      'name',
      'size_gb',
      'status',
      'instance_id',
    ]);
  });
  volumes.command('get <id>').action(async (id: string) => {
    print(unwrap(await client().GET('/volumes/{id}', { params: { path: { id } } })));
  });
  volumes
    .command('create')
    .requiredOption('--name <name>')
    .requiredOption('--size-gb <n>', 'size in GB', (v) => Number.parseInt(v, 10))
    .action(async (opts: { name: string; sizeGb: number }) => {
      print(
        unwrap(
          await client().POST('/volumes', { body: { name: opts.name, size_gb: opts.sizeGb } }),
        ),
      );
    });
  volumes.command('delete <id>').action(async (id: string) => {
    print(unwrap(await client().DELETE('/volumes/{id}', { params: { path: { id } } })));
  });

  const images = program.command('images').description('Images');
  images.command('list').action(async () => {
    print(itemsOf(unwrap(await client().GET('/images'))), [
      'id',
      'name',
      'status',
      'is_public',
      'size_bytes',
    ]);
  });
  images.command('get <id>').action(async (id: string) => {
    print(unwrap(await client().GET('/images/{id}', { params: { path: { id } } })));
  });

  const keys = program.command('keys').description('API keys');
  keys.command('list').action(async () => {
    print(unwrap(await client().GET('/auth/keys')), [
      'id',
      'name',
      'prefix',
      'kind',
      'created_at',
      'expires_at',
    ]);
  });
  keys
    .command('create')
    .requiredOption('--name <name>')
    .action(async (opts: { name: string }) => {
      print(unwrap(await client().POST('/auth/keys', { body: { name: opts.name } })));
    });
  keys.command('revoke <id>').action(async (id: string) => {
    unwrap(await client().DELETE('/auth/keys/{id}', { params: { path: { id } } }));
    io.stderr.write(`key ${id} revoked\n`);
  });

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

function parseTags(pairs: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--tag takes key=value, got ${pair}`);
    tags[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return tags;
}

const WAIT_TIMEOUT_MS = 10 * 60_000;
const POLL_MS = 1000;

/**
 * Polls the instance until it reaches one of `targets`, with a progress line showing its state
 * when stdout is a terminal. ERROR (or TERMINATED when not asked for) fails with error_reason.
 */
async function waitFor(
  api: NimbusClient,
  id: string,
  targets: Array<Schemas['Instance']['status']>,
  io: CliIo,
): Promise<Schemas['Instance']> {
  const bar = io.stdout.isTTY
    ? new SingleBar({
        format: '{id} [{bar}] {state} {duration}s',
        hideCursor: true,
        stream: io.stdout,
      })
    : null;
  const steps = ['PENDING', 'STARTING', 'RUNNING'];
  bar?.start(steps.length, 0, { id: id.slice(0, 8), state: 'PENDING' });
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  try {
    for (;;) {
      const result = await api.GET('/instances/{id}', { params: { path: { id } } });
      // 404 right after a launch: the read model has not seen it yet.
      if (result.response.status !== 404) {
        const instance = unwrap(result);
        bar?.update(
          Math.max(0, steps.indexOf(instance.status)) + (targets.includes(instance.status) ? 1 : 0),
          {
            state: instance.status,
          },
        );
        if (targets.includes(instance.status)) return instance;
        if (
          instance.status === 'ERROR' ||
          (instance.status === 'TERMINATED' && !targets.includes('TERMINATED'))
        ) {
          throw new NimbusApiError(
            409,
            'resource_failed',
            `instance ${id} is ${instance.status}: ${instance.error_reason ?? 'no reason given'}`,
            { status: instance.status, error_reason: instance.error_reason },
          );
        }
      }
      if (Date.now() > deadline) {
        throw new NimbusApiError(
          408,
          'wait_timeout',
          `instance ${id} did not reach ${targets.join('|')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    bar?.stop();
  }
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
