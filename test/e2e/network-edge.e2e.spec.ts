/**
 * Internet gateways and elastic IPs over HTTP: status codes, error codes, tenant walls, cursor
 * pagination, audit rows and the EIP meter. The fabric is the simulated one here (the data plane
 * is checked with real packets on OVN in test/int/network/edge-traffic.spec.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  NAT_GATEWAY_DELETE_SAGA,
  NAT_GATEWAY_SAGA,
} from '../../sagas/nat-gateway/nat-gateway.saga';
import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import { uuidV5 } from '../../src/common/ids';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import type { CommandContext } from '../../src/kernel/command-context';
import { natGatewayDecider, subnetDecider, vpcDecider } from '../../src/network/domain';
import { upstreamAddress } from '../../src/network/domain/public-address-pool';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';

describe('internet gateways and elastic IPs (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;

  const api = (account: Account) => {
    const http = conformingHttp(t);
    return {
      get: (path: string) => http.get(path).set('x-api-key', account.apiKey),
      post: (path: string, body?: object) =>
        http
          .post(path)
          .set('x-api-key', account.apiKey)
          .send(body ?? {}),
      delete: (path: string) => http.delete(path).set('x-api-key', account.apiKey),
    };
  };

  const userCtx = (account: Account): CommandContext => ({
    commandId: randomUUID(),
    tenantId: account.tenantId,
    actor: { type: 'user', id: account.userId },
    requestId: null,
    sourceIp: null,
    correlationId: randomUUID(),
    causationId: null,
    now: new Date(),
  });

  /** A subnet as its decider records it (the subnet routes are another family's). */
  async function subnetOf(account: Account, vpcId: string, vpcCidr: string, cidrBlock: string) {
    const subnetId = randomUUID();
    await t.app.get(CommandExecutor).execute(
      subnetDecider,
      subnetId,
      {
        type: 'CreateSubnet',
        subnetId,
        tenantId: account.tenantId,
        vpc: { vpcId, cidrBlock: vpcCidr },
        siblings: [],
        name: 'edge-subnet',
        cidrBlock,
        availabilityZone: 'local-1a',
        now: new Date(),
      },
      userCtx(account),
    );
    return subnetId;
  }

  const settled = (saga: string, id: string) =>
    t.app.get<SagaRuntime>(SAGA_RUNTIME).whenSettled(saga, id, 30_000);

  /** Polls GET until the resource shows `status` (`gone`: until it is 404). */
  async function statusReached(account: Account, path: string, status: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await api(account).get(path);
      const reached = status === 'gone' ? res.status === 404 : res.body?.status === status;
      if (reached || Date.now() > deadline) return res;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A VPC as its decider records it (the VPC routes are another family's). */
  async function vpcOf(account: Account, cidrBlock = '10.20.0.0/16'): Promise<string> {
    const vpcId = randomUUID();
    await t.app.get(CommandExecutor).execute(
      vpcDecider,
      vpcId,
      {
        type: 'CreateVpc',
        vpcId,
        tenantId: account.tenantId,
        name: 'edge-test',
        cidrBlock,
        mainRouteTableId: uuidV5(`main/${vpcId}`),
        defaultSecurityGroupId: uuidV5(`sg/${vpcId}`),
        now: new Date(),
      },
      userCtx(account),
    );
    return vpcId;
  }

  async function auditedActions(account: Account, resource: string, expected: string[]) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await api(account).get(`/audit?resource=${resource}&limit=200`).expect(200);
      const actions = (res.body as Array<{ action: string; status: string }>).map(
        (r) => `${r.action}:${r.status}`,
      );
      if (expected.every((a) => actions.includes(a)) || Date.now() > deadline) return actions;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    t = await startTestApp({
      label: 'network-edge',
      config: { ovn: 'simulated', authRateLimitPerMinute: 100 },
    });
    alice = await signUp(t, 'edge-alice');
    bob = await signUp(t, 'edge-bob');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('an internet gateway is created detached, attaches to one VPC and detaches', async () => {
    const vpcId = await vpcOf(alice);
    const created = await api(alice).post('/internet-gateways').expect(201);
    const igw = created.body as { id: string; status: string; vpc_id: null; arn: string };
    expect(igw.status).toBe('detached');
    expect(igw.vpc_id).toBeNull();
    expect(igw.arn).toBe(`arn:nimbus:vpc:local:${alice.tenantId}:igw/${igw.id}`);
    expect(created.headers.location).toBe(`/internet-gateways/${igw.id}`);

    const attached = await api(alice)
      .post(`/internet-gateways/${igw.id}/attach`, { vpc_id: vpcId })
      .expect(200);
    expect(attached.body).toMatchObject({ id: igw.id, status: 'attached', vpc_id: vpcId });
    // Attaching again to the same VPC changes nothing.
    await api(alice).post(`/internet-gateways/${igw.id}/attach`, { vpc_id: vpcId }).expect(200);

    // A second gateway for the same VPC: 409 conflict, nothing appended.
    const second = (await api(alice).post('/internet-gateways').expect(201)).body as { id: string };
    const otherVpc = await vpcOf(alice, '10.21.0.0/16');
    const before = await countEvents(t);
    const refused = await api(alice)
      .post(`/internet-gateways/${second.id}/attach`, { vpc_id: vpcId })
      .expect(409);
    expect(refused.body.error.code).toBe('conflict');
    // The attached one elsewhere: 409 invalid_state.
    const elsewhere = await api(alice)
      .post(`/internet-gateways/${igw.id}/attach`, { vpc_id: otherVpc })
      .expect(409);
    expect(elsewhere.body.error.code).toBe('invalid_state');
    // Delete while attached: 409 dependency_violation naming the VPC.
    const busy = await api(alice).delete(`/internet-gateways/${igw.id}`).expect(409);
    expect(busy.body.error.code).toBe('dependency_violation');
    expect(busy.body.error.message).toContain(vpcId);
    expect(await countEvents(t)).toBe(before);

    const detached = await api(alice).post(`/internet-gateways/${igw.id}/detach`).expect(200);
    expect(detached.body).toMatchObject({ status: 'detached', vpc_id: null });
    await api(alice).post(`/internet-gateways/${igw.id}/detach`).expect(200);
    await api(alice).delete(`/internet-gateways/${igw.id}`).expect(200);
    await api(alice).get(`/internet-gateways/${igw.id}`).expect(404);
    await api(alice).delete(`/internet-gateways/${second.id}`).expect(200);

    expect(
      await auditedActions(alice, `internet_gateway/${igw.id}`, [
        'INTERNET_GATEWAY_DELETE:success',
      ]),
    ).toEqual(
      expect.arrayContaining([
        'INTERNET_GATEWAY_CREATE:success',
        'INTERNET_GATEWAY_ATTACH:success',
        'INTERNET_GATEWAY_DETACH:success',
        'INTERNET_GATEWAY_DELETE:success',
      ]),
    );
  });

  it('another tenant sees 404 for the gateway, and cannot attach to its VPC', async () => {
    const vpcId = await vpcOf(alice, '10.22.0.0/16');
    const igw = (await api(alice).post('/internet-gateways').expect(201)).body as { id: string };
    const before = await countEvents(t, ['AccessDenied']);
    for (const res of [
      await api(bob).get(`/internet-gateways/${igw.id}`),
      await api(bob).post(`/internet-gateways/${igw.id}/attach`, { vpc_id: vpcId }),
      await api(bob).post(`/internet-gateways/${igw.id}/detach`),
      await api(bob).delete(`/internet-gateways/${igw.id}`),
    ]) {
      expect(res.status, JSON.stringify(res.body)).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    const bobsIgw = (await api(bob).post('/internet-gateways').expect(201)).body as { id: string };
    const cross = await api(bob)
      .post(`/internet-gateways/${bobsIgw.id}/attach`, { vpc_id: vpcId })
      .expect(404);
    expect(cross.body.error.details).toMatchObject({ resource: 'vpc' });
    expect((await api(bob).get('/internet-gateways').expect(200)).body).toHaveLength(1);
    const invalid = await api(bob)
      .post(`/internet-gateways/${bobsIgw.id}/attach`, { vpc_id: 'nope' })
      .expect(400);
    expect(invalid.body.error.code).toBe('validation_error');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before + 1);
  });

  it('elastic IPs come from the pool, unique under concurrent allocation, and page by cursor', async () => {
    const results = await Promise.all(
      Array.from({ length: 4 }, () => api(bob).post('/elastic-ips')),
    );
    for (const res of results) expect(res.status, JSON.stringify(res.body)).toBe(201);
    const ips = results.map((r) => (r.body as { public_ip: string }).public_ip);
    expect(new Set(ips).size).toBe(4);
    for (const res of results) {
      const body = res.body as { id: string; status: string; arn: string; public_ip: string };
      expect(body.status).toBe('allocated');
      expect(body.public_ip).toMatch(/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
      expect(body.public_ip).not.toBe(upstreamAddress(t.config.eipPool));
      expect(body.arn).toBe(`arn:nimbus:vpc:local:${bob.tenantId}:eip/${body.id}`);
    }

    const first = await api(bob).get('/elastic-ips?limit=3').expect(200);
    expect(first.body).toHaveLength(3);
    const page1 = await api(bob).get('/elastic-ips?limit=3&envelope=true').expect(200);
    expect(page1.body.page.has_more).toBe(true);
    const page2 = await api(bob)
      .get(`/elastic-ips?limit=3&cursor=${page1.body.page.next_cursor as string}`)
      .expect(200);
    const seen = [...page1.body.items, ...page2.body.items].map((e: { id: string }) => e.id);
    expect(new Set(seen)).toEqual(new Set(results.map((r) => (r.body as { id: string }).id)));
    await api(bob).get('/elastic-ips?cursor=bad!').expect(400);

    // Alice sees none of them; each is 404 to her.
    expect((await api(alice).get('/elastic-ips').expect(200)).body).toEqual([]);
    const id = (results[0].body as { id: string }).id;
    await api(alice).get(`/elastic-ips/${id}`).expect(404);
    await api(alice).delete(`/elastic-ips/${id}`).expect(404);
    await api(alice)
      .post(`/elastic-ips/${id}/associate`, { instance_id: randomUUID() })
      .expect(404);

    // Released addresses go back to the pool and out of the lists.
    for (const res of results) {
      await api(bob)
        .delete(`/elastic-ips/${(res.body as { id: string }).id}`)
        .expect(200);
    }
    expect((await api(bob).get('/elastic-ips').expect(200)).body).toEqual([]);
    const again = await api(bob).post('/elastic-ips').expect(201);
    expect(ips).toContain(again.body.public_ip);
    await api(bob)
      .delete(`/elastic-ips/${again.body.id as string}`)
      .expect(200);
  });

  it('association is refused for a missing instance (404) and appends nothing', async () => {
    const eip = (await api(alice).post('/elastic-ips').expect(201)).body as { id: string };
    const before = await countEvents(t);
    const missing = await api(alice)
      .post(`/elastic-ips/${eip.id}/associate`, { instance_id: randomUUID() })
      .expect(404);
    expect(missing.body.error.details).toMatchObject({ resource: 'instance' });
    await api(alice).post(`/elastic-ips/${eip.id}/associate`, {}).expect(400);
    // Disassociating an address that is not associated changes nothing.
    const same = await api(alice).post(`/elastic-ips/${eip.id}/disassociate`).expect(200);
    expect(same.body).toMatchObject({ id: eip.id, status: 'allocated', instance_id: null });
    expect(await countEvents(t)).toBe(before);
    await api(alice).delete(`/elastic-ips/${eip.id}`).expect(200);
    expect(
      await auditedActions(alice, `elastic_ip/${eip.id}`, ['ELASTIC_IP_RELEASE:success']),
    ).toEqual(
      expect.arrayContaining(['ELASTIC_IP_ALLOCATE:success', 'ELASTIC_IP_RELEASE:success']),
    );
  });

  it('an elastic IP is metered in eip-hours while allocated, at the catalog price', async () => {
    const prices = await api(alice).get('/billing/prices').expect(200);
    expect(JSON.stringify(prices.body)).toContain('network:eip');
    const eip = (await api(alice).post('/elastic-ips').expect(201)).body as {
      id: string;
      public_ip: string;
    };
    await new Promise((r) => setTimeout(r, 1100));
    await api(alice).delete(`/elastic-ips/${eip.id}`).expect(200);
    const deadline = Date.now() + 20_000;
    let usage: Array<{ resource_id: string; meter?: string; description?: string }> = [];
    while (Date.now() < deadline) {
      const res = await api(alice).get('/billing/usage').expect(200);
      usage = (
        Array.isArray(res.body) ? res.body : (res.body.items ?? res.body.usage ?? [])
      ) as typeof usage;
      if (usage.some((u) => u.resource_id === eip.id)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const row = usage.find((u) => u.resource_id === eip.id);
    expect(row, JSON.stringify(usage)).toBeDefined();
    expect(JSON.stringify(row)).toContain(eip.public_ip);
  });

  it('a NAT gateway fails without an internet gateway, is active with one, and its delete frees the elastic IP', async () => {
    const vpcId = await vpcOf(alice, '10.30.0.0/16');
    const subnetId = await subnetOf(alice, vpcId, '10.30.0.0/16', '10.30.1.0/24');
    const eip = (await api(alice).post('/elastic-ips').expect(201)).body as {
      id: string;
      public_ip: string;
    };

    // No internet gateway yet: accepted pending, then failed with its code.
    const early = await api(alice)
      .post('/nat-gateways', { subnet_id: subnetId, eip_id: eip.id })
      .expect(201);
    expect(early.body).toMatchObject({
      status: 'pending',
      vpc_id: vpcId,
      subnet_id: subnetId,
      elastic_ip_id: eip.id,
      private_ip: '10.30.1.4',
    });
    expect(early.body.arn).toBe(
      `arn:nimbus:vpc:local:${alice.tenantId}:nat-gateway/${early.body.id as string}`,
    );
    await settled(NAT_GATEWAY_SAGA, early.body.id as string);
    const failed = await statusReached(alice, `/nat-gateways/${early.body.id as string}`, 'failed');
    expect(failed.body).toMatchObject({ status: 'failed', failure_code: 'no_internet_gateway' });
    expect((await api(alice).get(`/elastic-ips/${eip.id}`).expect(200)).body.status).toBe(
      'allocated',
    );

    const igw = (await api(alice).post('/internet-gateways').expect(201)).body as { id: string };
    await api(alice).post(`/internet-gateways/${igw.id}/attach`, { vpc_id: vpcId }).expect(200);
    const created = await api(alice)
      .post('/nat-gateways', { subnet_id: subnetId, eip_id: eip.id })
      .expect(201);
    const natId = created.body.id as string;
    expect(created.body.private_ip).toBe('10.30.1.5');
    expect((await settled(NAT_GATEWAY_SAGA, natId)).status).toBe('completed');
    const active = await statusReached(alice, `/nat-gateways/${natId}`, 'active');
    expect(active.body).toMatchObject({ status: 'active', public_ip: eip.public_ip });
    const used = await api(alice).get(`/elastic-ips/${eip.id}`).expect(200);
    expect(used.body).toMatchObject({ status: 'associated', nat_gateway_id: natId });

    // The elastic IP belongs to the NAT gateway now: 409 on disassociate and release.
    const before = await countEvents(t);
    expect(
      (await api(alice).post(`/elastic-ips/${eip.id}/disassociate`).expect(409)).body.error.code,
    ).toBe('dependency_violation');
    await api(alice).delete(`/elastic-ips/${eip.id}`).expect(409);
    // A second NAT gateway with the same elastic IP fails with elastic_ip_in_use.
    const second = await api(alice)
      .post('/nat-gateways', { subnet_id: subnetId, eip_id: eip.id })
      .expect(201);
    expect(await countEvents(t)).toBeGreaterThan(before);
    await settled(NAT_GATEWAY_SAGA, second.body.id as string);
    expect(
      (await statusReached(alice, `/nat-gateways/${second.body.id as string}`, 'failed')).body,
    ).toMatchObject({ failure_code: 'elastic_ip_in_use' });

    // Listing needs vpc_id (400), another tenant's VPC is 404, and pages like every list.
    await api(alice).get('/nat-gateways').expect(400);
    await api(bob).get(`/nat-gateways?vpc_id=${vpcId}`).expect(404);
    await api(bob).get(`/nat-gateways/${natId}`).expect(404);
    await api(bob).delete(`/nat-gateways/${natId}`).expect(404);
    const listed = await api(alice).get(`/nat-gateways?vpc_id=${vpcId}&limit=2&envelope=true`);
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(2);
    expect(listed.body.page.has_more).toBe(true);

    // Another tenant's subnet or elastic IP is 404 and appends nothing.
    const bobsEip = (await api(bob).post('/elastic-ips').expect(201)).body as { id: string };
    const quiet = await countEvents(t, ['AccessDenied']);
    await api(bob).post('/nat-gateways', { subnet_id: subnetId, eip_id: bobsEip.id }).expect(404);
    await api(alice).post('/nat-gateways', { subnet_id: subnetId, eip_id: bobsEip.id }).expect(404);
    await api(alice).post('/nat-gateways', { subnet_id: subnetId }).expect(400);
    expect(await countEvents(t, ['AccessDenied'])).toBe(quiet);
    await api(bob).delete(`/elastic-ips/${bobsEip.id}`).expect(200);

    const deleting = await api(alice).delete(`/nat-gateways/${natId}`).expect(200);
    expect(['deleting', 'deleted']).toContain(deleting.body.status);
    expect((await settled(NAT_GATEWAY_DELETE_SAGA, natId)).status).toBe('completed');
    await statusReached(alice, `/nat-gateways/${natId}`, 'gone');
    await api(alice).get(`/nat-gateways/${natId}`).expect(404);
    const freed = await statusReached(alice, `/elastic-ips/${eip.id}`, 'allocated');
    expect(freed.body).toMatchObject({ status: 'allocated', nat_gateway_id: null });
    for (const id of [early.body.id as string, second.body.id as string]) {
      await api(alice).delete(`/nat-gateways/${id}`).expect(200);
      await settled(NAT_GATEWAY_DELETE_SAGA, id);
    }
    await api(alice).post(`/internet-gateways/${igw.id}/detach`).expect(200);
    await api(alice).delete(`/elastic-ips/${eip.id}`).expect(200);
    expect(
      await auditedActions(alice, `nat_gateway/${natId}`, ['NAT_GATEWAY_DELETE:success']),
    ).toEqual(expect.arrayContaining(['NAT_GATEWAY_CREATE:success', 'NAT_GATEWAY_DELETE:success']));
    expect(
      await auditedActions(alice, `nat_gateway/${early.body.id as string}`, [
        'NAT_GATEWAY_CREATE:failure',
      ]),
    ).toEqual(expect.arrayContaining(['NAT_GATEWAY_CREATE:failure']));
  });

  it('a NAT gateway whose request died after recording it still becomes active: its event starts the saga', async () => {
    const vpcId = await vpcOf(alice, '10.31.0.0/16');
    const subnetId = await subnetOf(alice, vpcId, '10.31.0.0/16', '10.31.1.0/24');
    const eip = (await api(alice).post('/elastic-ips').expect(201)).body as { id: string };
    const igw = (await api(alice).post('/internet-gateways').expect(201)).body as { id: string };
    await api(alice).post(`/internet-gateways/${igw.id}/attach`, { vpc_id: vpcId }).expect(200);

    // What a request that died between its append and SagaLauncher.start leaves: the event only.
    const natId = randomUUID();
    await t.app.get(CommandExecutor).execute(
      natGatewayDecider,
      natId,
      {
        type: 'CreateNatGateway',
        natGatewayId: natId,
        tenantId: alice.tenantId,
        vpcId,
        subnetId,
        eipId: eip.id,
        privateIp: '10.31.1.4',
        now: new Date(),
      },
      userCtx(alice),
    );
    expect((await settled(NAT_GATEWAY_SAGA, natId)).status).toBe('completed');
    const active = await statusReached(alice, `/nat-gateways/${natId}`, 'active');
    expect(active.body).toMatchObject({ status: 'active', elastic_ip_id: eip.id });
  });

  it('the elastic_ips quota (default 5) refuses the sixth with 403 quota_exceeded and appends nothing', async () => {
    const carol = await signUp(t, 'edge-carol');
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push(((await api(carol).post('/elastic-ips').expect(201)).body as { id: string }).id);
    }
    const before = await countEvents(t);
    const refused = await api(carol).post('/elastic-ips').expect(403);
    expect(refused.body.error.code).toBe('quota_exceeded');
    expect(await countEvents(t)).toBe(before);
    await api(carol).delete(`/elastic-ips/${ids[0]}`).expect(200);
    ids[0] = ((await api(carol).post('/elastic-ips').expect(201)).body as { id: string }).id;
    for (const id of ids) await api(carol).delete(`/elastic-ips/${id}`).expect(200);
  });
});
