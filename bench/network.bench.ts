/**
 * Network benchmark on real Docker and OVN: how long until traffic flows, beside what OVN itself
 * takes to realize a change (`--wait=hv`) measured in the same run.
 *
 * - NIC: from `POST /instances` (busybox, into a subnet) to the first ICMP reply the new instance
 *   gives a running instance of the same subnet (a 50 ms ping from inside that instance's
 *   namespace, started once the API shows the new private IP). Beside it: `ovn-nbctl --wait=hv
 *   lsp-add` of a scratch port on the same switch (OVN's own cost of a new port).
 * - Security group rule: from `POST /security-groups/:id/rules` (ICMP from the subnet) to the
 *   first reply through it (a 50 ms ping already running, blocked until then); the rule is
 *   removed between samples. Beside it: `ovn-nbctl --wait=hv acl-add` on a scratch port group.
 *
 * p50/p95 of each, written to bench/results/network.json. Traffic runs only between the bench's
 * own containers (`nsenter` into their namespaces); the API on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { loadConfig, type AppConfig } from '../src/config/config';
import { createApp } from '../src/create-app';
import { containerNameOf } from '../src/drivers/docker/compute-driver';
import { execCommand } from '../src/drivers/exec';
import { ovnNames } from '../src/drivers/ovn/ovn-names';
import { createRootLogger } from '../src/platform/logging';
import { environment, freshDatabase, writeResults } from './support';

const SAMPLES = Number(process.env.BENCH_NETWORK_SAMPLES ?? 8);
const LABEL = 'nimbus.bench';
const RUN = `network-${randomUUID().slice(0, 8)}`;

type Json = Record<string, unknown>;

function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? NaN;
}

function summarise(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: Math.round(percentile(sorted, 50)),
    p95: Math.round(percentile(sorted, 95)),
    min: Math.round(sorted[0] ?? NaN),
    max: Math.round(sorted.at(-1) ?? NaN),
    samples: sorted.map(Math.round),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A ping every 50 ms from inside a namespace; `firstReply` resolves with the time
 * (performance.now()) of the first reply.
 */
function pinger(pid: number, ip: string): { firstReply: Promise<number>; stop(): void } {
  const child = spawn(
    'nsenter',
    [`--net=/proc/${pid}/ns/net`, 'busybox', 'ping', '-i', '0.05', '-W', '1', ip],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const firstReply = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('bytes from')) resolve(performance.now());
    });
    child.on('exit', () => reject(new Error('ping ended without a reply')));
  });
  firstReply.catch(() => undefined);
  return { firstReply, stop: () => child.kill('SIGKILL') };
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  await docker.ping();
  const db = await freshDatabase('network');
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-network-'));
  const base = loadConfig({
    LOG_LEVEL: 'silent',
    NIMBUS_DOCKER: 'docker',
    NIMBUS_OVS: 'simulated',
    NIMBUS_OVN: 'ovn',
    NIMBUS_AUTH_RATE_LIMIT: '100000',
    NIMBUS_API_RATE_LIMIT: '1000000',
    NIMBUS_CONTAINER_LABEL: `${LABEL}=${RUN}`,
    NIMBUS_QUOTA_INSTANCES: String(SAMPLES + 10),
    NIMBUS_QUOTA_VCPUS: String(SAMPLES + 10),
    NIMBUS_QUOTA_MEMORY_MB: String((SAMPLES + 10) * 1024),
  });
  const config: AppConfig = { ...base, dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0 };
  const app = await createApp(config, { logger: createRootLogger('silent') });
  const scratchPort = `nimbus-bench-${RUN}`;
  const scratchGroup = `nimbus_bench_${RUN.replace(/-/g, '_')}`;
  let switchName = '';
  let auth: Record<string, string> = {};
  let url = '';
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...auth },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = (text ? JSON.parse(text) : {}) as Json;
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return parsed;
  };
  const instanceIds: string[] = [];
  const vpcs: Array<{ vpcId: string; subnetId: string }> = [];
  try {
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (!address || typeof address !== 'object') throw new Error('server has no address');
    url = `http://127.0.0.1:${address.port}`;
    const email = `bench-${Date.now()}@example.com`;
    await call('POST', '/auth/register', { email, password: 'bench-password-9f3k', name: 'B' });
    const login = await call('POST', '/auth/login', { email, password: 'bench-password-9f3k' });
    auth = { 'x-api-key': String(login.api_key) };

    const vpc = await call('POST', '/vpcs', { name: 'bench', cidr_block: '10.99.0.0/16' });
    const subnet = await call('POST', `/vpcs/${String(vpc.id)}/subnets`, {
      name: 'bench',
      cidr_block: '10.99.1.0/24',
      availability_zone: 'local-1a',
    });
    vpcs.push({ vpcId: String(vpc.id), subnetId: String(subnet.id) });
    switchName = ovnNames.switch(String(subnet.id));

    const launch = async (name: string) => {
      const res = await call('POST', '/instances', {
        name,
        image: 'busybox',
        instance_type: 'basic-1',
        subnet_id: subnet.id,
      });
      instanceIds.push(String(res.id));
      return String(res.id);
    };
    const privateIpOf = async (id: string): Promise<string> => {
      for (;;) {
        const res = await call('GET', `/instances/${id}`);
        if (typeof res.private_ip === 'string') return res.private_ip;
        if (res.status === 'ERROR') throw new Error(`launch failed: ${String(res.error_reason)}`);
        await sleep(20);
      }
    };
    const pidOf = async (id: string): Promise<number> => {
      for (;;) {
        const info = await docker.getContainer(containerNameOf(id)).inspect();
        if (info.State.Pid > 0) return info.State.Pid;
        await sleep(20);
      }
    };

    console.log(`network bench on real OVN and Docker: ${SAMPLES} samples each`);
    const anchor = await launch('anchor');
    await privateIpOf(anchor);
    const anchorPid = await pidOf(anchor);

    // NIC: POST -> first reply from the new instance.
    const nicMs: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const started = performance.now();
      const id = await launch(`nic-${i}`);
      const ip = await privateIpOf(id);
      const ping = pinger(anchorPid, ip);
      try {
        nicMs.push((await ping.firstReply) - started);
      } finally {
        ping.stop();
      }
    }
    const ovnPortMs: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      ovnPortMs.push(
        await timed(() =>
          execCommand('ovn-nbctl', ['--wait=hv', 'lsp-add', switchName, `${scratchPort}-${i}`]),
        ),
      );
      await execCommand('ovn-nbctl', ['--if-exists', 'lsp-del', `${scratchPort}-${i}`]);
    }
    const nic = summarise(nicMs);
    const ovnPort = summarise(ovnPortMs);
    console.log(`NIC: POST -> first ping     p50 ${nic.p50} ms  p95 ${nic.p95} ms`);
    console.log(`OVN --wait=hv lsp-add      p50 ${ovnPort.p50} ms  p95 ${ovnPort.p95} ms`);

    // Security group rule: the target only in a group without rules, pinged from a neighbour.
    const group = await call('POST', '/security-groups', { vpc_id: vpc.id, name: 'bench' });
    const target = instanceIds[1];
    const targetIp = await privateIpOf(target);
    await call('POST', '/security-groups/attach', { instance_id: target, group_id: group.id });
    await call('POST', '/security-groups/detach', {
      instance_id: target,
      group_id: vpc.default_security_group_id,
    });
    const ruleMs: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const ping = pinger(anchorPid, targetIp);
      await sleep(300);
      const started = performance.now();
      const withRule = await call('POST', `/security-groups/${String(group.id)}/rules`, {
        direction: 'ingress',
        protocol: 'icmp',
        cidr: '10.99.1.0/24',
      });
      try {
        ruleMs.push((await ping.firstReply) - started);
      } finally {
        ping.stop();
      }
      const rules = withRule.rules as Array<{ id: string }>;
      for (const rule of rules) {
        await call('DELETE', `/security-groups/${String(group.id)}/rules/${rule.id}`);
      }
      await sleep(200);
    }
    await execCommand('ovn-nbctl', ['pg-add', scratchGroup]);
    const ovnAclMs: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const match = `outport == @${scratchGroup} && icmp4 && ip4.src == 10.250.${i}.0/24`;
      ovnAclMs.push(
        await timed(() =>
          execCommand('ovn-nbctl', [
            '--wait=hv',
            'acl-add',
            scratchGroup,
            'to-lport',
            '1001',
            match,
            'allow-related',
          ]),
        ),
      );
      await execCommand('ovn-nbctl', ['acl-del', scratchGroup, 'to-lport', '1001', match]);
    }
    const rule = summarise(ruleMs);
    const ovnAcl = summarise(ovnAclMs);
    console.log(`SG rule: POST -> traffic   p50 ${rule.p50} ms  p95 ${rule.p95} ms`);
    console.log(`OVN --wait=hv acl-add      p50 ${ovnAcl.p50} ms  p95 ${ovnAcl.p95} ms`);
    console.log(
      `ratios (p50): NIC / OVN port ${(nic.p50 / ovnPort.p50).toFixed(1)}, rule / OVN ACL ${(rule.p50 / ovnAcl.p50).toFixed(1)}`,
    );
    const file = writeResults('network', {
      bench: 'network',
      at: new Date().toISOString(),
      environment: environment(),
      samples: SAMPLES,
      nicPostToFirstPingMs: nic,
      ovnWaitHvLspAddMs: ovnPort,
      securityGroupRulePostToTrafficMs: rule,
      ovnWaitHvAclAddMs: ovnAcl,
      ratioNicToOvnPort: Number((nic.p50 / ovnPort.p50).toFixed(2)),
      ratioRuleToOvnAcl: Number((rule.p50 / ovnAcl.p50).toFixed(2)),
    });
    console.log(`results written to ${file}`);
  } finally {
    for (const id of instanceIds) await call('DELETE', `/instances/${id}`).catch(() => undefined);
    for (const { vpcId, subnetId } of vpcs) {
      await call('DELETE', `/subnets/${subnetId}`).catch(() => undefined);
      const groups: unknown = await call('GET', `/security-groups?vpc_id=${vpcId}`).catch(() => []);
      for (const g of Array.isArray(groups)
        ? (groups as Array<{ id: string; is_default: boolean }>)
        : []) {
        if (!g.is_default) await call('DELETE', `/security-groups/${g.id}`).catch(() => undefined);
      }
      await call('DELETE', `/vpcs/${vpcId}`).catch(() => undefined);
    }
    await execCommand('ovn-nbctl', ['--if-exists', 'pg-del', scratchGroup]).catch(() => undefined);
    await app.close();
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL}=${RUN}`] },
    });
    for (const c of leftovers) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
