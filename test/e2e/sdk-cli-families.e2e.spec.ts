/**
 * The `nimbus` families built from the SDK's operations (src/cli/families.ts), run as the built
 * binary against the real application (real PostgreSQL and Docker; OVN simulated): volumes with
 * attach/detach on a live instance, images register/import --wait (success and failure with the
 * image's error_reason), VPCs, subnets, security groups and their rules, elastic IPs,
 * NAT gateways with --wait, and a peering across two tenants (two profiles) accepted with
 * --wait. Exit codes: 0, 1 with the API's error code, 2 for usage.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerClient, realDocker } from '../int/drivers/real-backends';
import { startTestApp, type TestApp } from '../support/app';
import { buildCli, cliRunner, type CliRun } from '../support/cli';
import { COMMITTED_DOCUMENT, sdkSignUp, type SdkAccount, type Schemas } from '../support/sdk';
import { responseValidator } from '../support/openapi-validator';

const docker = realDocker();
const RUN = `sdk-cli-fam-${randomUUID().slice(0, 8)}`;
const TEST_LABEL = 'nimbus.test';
const check = responseValidator(COMMITTED_DOCUMENT);

describe('nimbus resource families from the SDK, spawned against the real app (e2e)', () => {
  let t: TestApp;
  let alice: SdkAccount;
  let bob: SdkAccount;
  let configHome: string;
  let nimbus: ReturnType<typeof cliRunner>;

  /** Runs the CLI and expects exit 0; the parsed JSON of --output json. */
  async function json<T>(args: string[]): Promise<T> {
    const run = await nimbus([...args, '-o', 'json']);
    expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    return JSON.parse(run.stdout) as T;
  }

  function refused(run: CliRun, code: string): void {
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: ${code}: `));
  }

  beforeAll(async () => {
    if (!(await docker.probe()).reachable) return;
    configHome = mkdtempSync(join(tmpdir(), 'nimbus-cli-fam-'));
    nimbus = cliRunner(configHome);
    const build = buildCli();
    t = await startTestApp({
      label: 'sdk_cli_families',
      config: {
        docker: 'docker',
        ovs: 'simulated',
        ovn: 'simulated',
        authRateLimitPerMinute: 10_000,
        containerLabel: { key: TEST_LABEL, value: RUN },
        imageImportAllowPrivate: true,
      },
    });
    alice = await sdkSignUp(t, 'cli-alice');
    bob = await sdkSignUp(t, 'cli-bob');
    await build;
    expect(
      (await nimbus(['configure', '--endpoint', t.baseUrl, '--api-key', alice.apiKey])).code,
    ).toBe(0);
    const bobProfile = ['--profile', 'bob', 'configure', '--endpoint', t.baseUrl];
    expect((await nimbus([...bobProfile, '--api-key', bob.apiKey])).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    if (configHome) rmSync(configHome, { recursive: true, force: true });
    const client = dockerClient();
    const leftovers = await client
      .listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${RUN}`] } })
      .catch(() => []);
    for (const c of leftovers) {
      await client
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it('volumes: create, list, attach to a RUNNING instance, detach, delete; usage and API errors', async (ctx) => {
    docker.require(ctx);
    const instance = await json<Schemas['Instance']>([
      'instances',
      'launch',
      '--name',
      'fam-01',
      '--image',
      'busybox',
      '--instance-type',
      'basic-1',
      '--tags',
      `run=${RUN}`,
      '--wait',
    ]);
    expect(instance).toMatchObject({ status: 'RUNNING', tags: { run: RUN } });

    const volume = await json<Schemas['Volume']>([
      'volumes',
      'create',
      '--name',
      'data',
      '--size-gb',
      '1',
    ]);
    expect(volume).toMatchObject({ name: 'data', size_gb: 1, status: 'AVAILABLE' });
    expect(check('createVolume', 201, volume)).toEqual([]);
    expect(await json(['volumes', 'list', '--query', "[?name=='data'].id"])).toEqual([volume.id]);
    const table = await nimbus(['volumes', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+SIZE_GB\s+STATUS/);

    const attached = await json<Schemas['Volume']>([
      'volumes',
      'attach',
      volume.id,
      '--instance-id',
      instance.id,
      '--mount-path',
      '/data',
    ]);
    expect(attached).toMatchObject({
      status: 'IN_USE',
      instance_id: instance.id,
      mount_path: '/data',
    });
    expect(await json(['volumes', 'get', volume.id, '--query', 'instance_id'])).toBe(instance.id);
    refused(await nimbus(['volumes', 'delete', volume.id]), 'dependency_violation');
    const detached = await json<Schemas['Volume']>(['volumes', 'detach', volume.id]);
    expect(detached).toMatchObject({ status: 'AVAILABLE', instance_id: null });
    expect(await json(['volumes', 'delete', volume.id])).toMatchObject({ id: volume.id });
    refused(await nimbus(['volumes', 'get', volume.id]), 'not_found');

    // Usage errors (2): a required flag missing, a number that is not one, an unknown choice.
    expect(
      (await nimbus(['volumes', 'attach', volume.id, '--instance-id', instance.id])).code,
    ).toBe(2);
    expect((await nimbus(['volumes', 'create', '--name', 'x', '--size-gb', 'ten'])).code).toBe(2);
    expect((await nimbus(['volumes', 'create', '--name', 'x'])).code).toBe(2);
    // The API's refusal (1) with its code.
    refused(
      await nimbus(['volumes', 'create', '--name', 'x', '--size-gb', '0']),
      'validation_error',
    );
    // Another tenant's volume is not there.
    const mine = await json<Schemas['Volume']>([
      'volumes',
      'create',
      '--name',
      'mine',
      '--size-gb',
      '1',
    ]);
    refused(await nimbus(['--profile', 'bob', 'volumes', 'get', mine.id]), 'not_found');

    const terminated = await json(['instances', 'terminate', instance.id, '--wait']);
    expect(terminated).toMatchObject({ status: 'TERMINATED' });
  });

  it('images: list, get, register, import --wait to ACTIVE, and a failed import exits 1 with its error_reason', async (ctx) => {
    docker.require(ctx);
    const listed = await json<Array<Schemas['Image']>>(['images', 'list']);
    const busybox = listed.find((i) => i.name === 'busybox');
    expect(busybox).toBeDefined();
    expect(await json(['images', 'get', busybox?.id ?? '', '--query', 'name'])).toBe('busybox');

    const registered = await json<Schemas['Image']>([
      'images',
      'register',
      '--name',
      'mine',
      '--os',
      'linux',
    ]);
    expect(registered).toMatchObject({ name: 'mine', status: 'PENDING', is_public: false });
    expect(await json(['images', 'delete', registered.id])).toMatchObject({ id: registered.id });

    const dir = mkdtempSync(join(tmpdir(), 'nimbus-rootfs-'));
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    const { stdout: rootfs } = await promisify(execFile)('tar', ['-cf', '-', '-C', dir, '.'], {
      encoding: 'buffer',
    });
    rmSync(dir, { recursive: true, force: true });
    const server: Server = createServer((req, res) => {
      if (req.url === '/rootfs.tar') res.writeHead(200).end(rootfs);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const imported = await json<Schemas['Image']>([
        'images',
        'import',
        '--name',
        'from-url',
        '--url',
        `${base}/rootfs.tar`,
        '--wait',
      ]);
      expect(imported).toMatchObject({ name: 'from-url', status: 'ACTIVE' });
      expect(check('getImage', 200, imported)).toEqual([]);
      const failed = await nimbus([
        'images',
        'import',
        '--name',
        'missing',
        '--url',
        `${base}/nothing.tar`,
        '--wait',
      ]);
      refused(failed, 'resource_failed');
      expect(failed.stderr).toMatch(/is ERROR: .*404/);
      await json(['images', 'delete', imported.id]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('networking: VPCs, subnets, security groups and rules, elastic IPs, NAT gateways --wait', async (ctx) => {
    docker.require(ctx);
    const vpc = await json<Schemas['VpcResponse']>([
      'vpcs',
      'create',
      '--name',
      'net',
      '--cidr-block',
      '10.40.0.0/16',
    ]);
    expect(vpc).toMatchObject({ name: 'net', cidr_block: '10.40.0.0/16', status: 'available' });
    expect(await json(['vpcs', 'list', '--query', "[?name=='net'].id"])).toEqual([vpc.id]);
    const subnet = await json<Schemas['SubnetResponse']>([
      'subnets',
      'create',
      '--vpc-id',
      vpc.id,
      '--name',
      'a',
      '--cidr-block',
      '10.40.1.0/24',
      '--availability-zone',
      'local-1a',
    ]);
    expect(subnet).toMatchObject({ vpc_id: vpc.id, cidr_block: '10.40.1.0/24' });
    expect(await json(['subnets', 'list', '--vpc-id', vpc.id, '--query', '[].id'])).toEqual([
      subnet.id,
    ]);
    expect((await nimbus(['subnets', 'list'])).code).toBe(2);

    const group = await json<Schemas['SecurityGroupResponse']>([
      'security-groups',
      'create',
      '--vpc-id',
      vpc.id,
      '--name',
      'web',
      '--description',
      'http in',
    ]);
    const ruled = await json<Schemas['SecurityGroupResponse']>([
      'security-groups',
      'add-rule',
      group.id,
      '--direction',
      'ingress',
      '--protocol',
      'tcp',
      '--port-min',
      '80',
      '--cidr',
      '0.0.0.0/0',
    ]);
    expect(JSON.stringify(ruled)).toContain('"port_min":80');
    const rules = await json<Array<{ id: string; port_min: number | null }>>([
      'security-groups',
      'get',
      group.id,
      '--query',
      'rules',
    ]);
    const rule = rules.find((r) => r.port_min === 80);
    expect(rule).toBeDefined();
    expect(
      (await nimbus(['security-groups', 'add-rule', group.id, '--direction', 'sideways'])).code,
    ).toBe(2);
    const removed = await nimbus([
      'security-groups',
      'remove-rule',
      group.id,
      '--rule-id',
      rule?.id ?? '',
    ]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await json(['security-groups', 'get', group.id, '--query', 'length(rules)'])).toBe(
      rules.length - 1,
    );

    const eip = await json<Schemas['ElasticIpResponse']>(['elastic-ips', 'allocate']);
    expect(eip.status).toBe('allocated');
    // No internet gateway: the NAT gateway fails, and --wait says why.
    const early = await nimbus([
      'nat-gateways',
      'create',
      '--subnet-id',
      subnet.id,
      '--eip-id',
      eip.id,
      '--wait',
    ]);
    refused(early, 'resource_failed');
    expect(early.stderr).toMatch(/is failed: /);
    const igw = await json<{ id: string }>(['internet-gateways', 'create']);
    expect(
      await json(['internet-gateways', 'attach', igw.id, '--vpc-id', vpc.id, '--query', 'vpc_id']),
    ).toBe(vpc.id);
    const nat = await json<Schemas['NatGatewayResponse']>([
      'nat-gateways',
      'create',
      '--subnet-id',
      subnet.id,
      '--eip-id',
      eip.id,
      '--wait',
    ]);
    expect(nat).toMatchObject({ status: 'active', subnet_id: subnet.id });
    const gone = await json(['nat-gateways', 'delete', nat.id, '--wait']);
    expect(gone).toMatchObject({ id: nat.id });
    refused(await nimbus(['nat-gateways', 'get', nat.id]), 'not_found');
    expect(await json(['elastic-ips', 'get', eip.id, '--query', 'status'])).toBe('allocated');
    expect(await json(['elastic-ips', 'release', eip.id])).toBeTruthy();
  });

  it('VPC peering across two profiles: request, accept --wait until active; reject --wait', async (ctx) => {
    docker.require(ctx);
    const mine = await json<Schemas['VpcResponse']>([
      'vpcs',
      'create',
      '--name',
      'p-a',
      '--cidr-block',
      '10.51.0.0/16',
    ]);
    const theirs = await json<Schemas['VpcResponse']>([
      '--profile',
      'bob',
      'vpcs',
      'create',
      '--name',
      'p-b',
      '--cidr-block',
      '10.52.0.0/16',
    ]);
    const requested = await json<Schemas['VpcPeeringResponse']>([
      'vpc-peerings',
      'request',
      '--requester-vpc-id',
      mine.id,
      '--accepter-vpc-id',
      theirs.id,
    ]);
    expect(requested.status).toBe('pending-acceptance');
    // The requester cannot accept its own request.
    refused(await nimbus(['vpc-peerings', 'accept', requested.id]), 'forbidden');
    const active = await json<Schemas['VpcPeeringResponse']>([
      '--profile',
      'bob',
      'vpc-peerings',
      'accept',
      requested.id,
      '--wait',
    ]);
    expect(active).toMatchObject({ id: requested.id, status: 'active' });

    const third = await json<Schemas['VpcResponse']>([
      '--profile',
      'bob',
      'vpcs',
      'create',
      '--name',
      'p-c',
      '--cidr-block',
      '10.53.0.0/16',
    ]);
    const second = await json<Schemas['VpcPeeringResponse']>([
      'vpc-peerings',
      'request',
      '--requester-vpc-id',
      mine.id,
      '--accepter-vpc-id',
      third.id,
    ]);
    const rejected = await json<Schemas['VpcPeeringResponse']>([
      '--profile',
      'bob',
      'vpc-peerings',
      'reject',
      second.id,
      '--wait',
    ]);
    expect(rejected.status).toBe('rejected');
    expect(await json(['vpc-peerings', 'list', '--query', '[].status'])).toEqual(
      expect.arrayContaining(['active', 'rejected']),
    );
  });
});
