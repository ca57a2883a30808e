/**
 * Internet gateways, elastic IPs and NAT gateways over HTTP, through the generated SDK: status
 * codes, error codes, tenant walls, cursor pagination, audit rows and the EIP meter. The fabric is the simulated one here (the data plane
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
import {
  auditedActions,
  conformingHttp,
  itemsOf,
  pollUntil,
  refusedWith,
  sdkSignUp,
  unwrap,
  type SdkAccount,
} from '../support/sdk';
import { countEvents } from './identity.helpers';

const byId = (id: string) => ({ params: { path: { id } } });

describe('internet gateways and elastic IPs (e2e)', () => {
  let t: TestApp;
  let alice: SdkAccount;
  let bob: SdkAccount;

  const userCtx = (account: SdkAccount): CommandContext => ({
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
  async function subnetOf(account: SdkAccount, vpcId: string, vpcCidr: string, cidrBlock: string) {
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

  /** Polls the NAT gateway until it shows `status`. */
  const natReached = (account: SdkAccount, id: string, status: string) =>
    pollUntil(
      () => account.sdk.GET('/nat-gateways/{id}', byId(id)),
      (n) => n.status === status,
      20_000,
    );
  /** Polls the elastic IP until it shows `status`. */
  const eipReached = (account: SdkAccount, id: string, status: string) =>
    pollUntil(
      () => account.sdk.GET('/elastic-ips/{id}', byId(id)),
      (e) => e.status === status,
      20_000,
    );
  const allocate = async (account: SdkAccount) => unwrap(await account.sdk.POST('/elastic-ips'));
  const release = (account: SdkAccount, id: string) =>
    account.sdk.DELETE('/elastic-ips/{id}', byId(id));
  const createIgw = async (account: SdkAccount) =>
    unwrap(await account.sdk.POST('/internet-gateways'));
  const attachIgw = (account: SdkAccount, id: string, vpcId: string) =>
    account.sdk.POST('/internet-gateways/{id}/attach', { ...byId(id), body: { vpc_id: vpcId } });
  const detachIgw = (account: SdkAccount, id: string) =>
    account.sdk.POST('/internet-gateways/{id}/detach', byId(id));
  const createNat = (account: SdkAccount, subnetId: string, eipId: string) =>
    account.sdk.POST('/nat-gateways', { body: { subnet_id: subnetId, eip_id: eipId } });

  /** A VPC as its decider records it (the VPC routes are another family's). */
  async function vpcOf(account: SdkAccount, cidrBlock = '10.20.0.0/16'): Promise<string> {
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

  beforeAll(async () => {
    t = await startTestApp({
      label: 'network-edge',
      config: { ovn: 'simulated', authRateLimitPerMinute: 100 },
    });
    alice = await sdkSignUp(t, 'edge-alice');
    bob = await sdkSignUp(t, 'edge-bob');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('an internet gateway is created detached, attaches to one VPC and detaches', async () => {
    const vpcId = await vpcOf(alice);
    const created = await alice.sdk.POST('/internet-gateways');
    expect(created.response.status).toBe(201);
    const igw = unwrap(created);
    expect(igw.status).toBe('detached');
    expect(igw.vpc_id).toBeNull();
    expect(igw.arn).toBe(`arn:nimbus:vpc:local:${alice.tenantId}:igw/${igw.id}`);
    expect(created.response.headers.get('location')).toBe(`/internet-gateways/${igw.id}`);

    const attached = unwrap(await attachIgw(alice, igw.id, vpcId));
    expect(attached).toMatchObject({ id: igw.id, status: 'attached', vpc_id: vpcId });
    // Attaching again to the same VPC changes nothing.
    unwrap(await attachIgw(alice, igw.id, vpcId));

    // A second gateway for the same VPC: 409 conflict, nothing appended.
    const second = await createIgw(alice);
    const otherVpc = await vpcOf(alice, '10.21.0.0/16');
    const before = await countEvents(t);
    refusedWith(await attachIgw(alice, second.id, vpcId), 409, 'conflict');
    // The attached one elsewhere: 409 invalid_state.
    refusedWith(await attachIgw(alice, igw.id, otherVpc), 409, 'invalid_state');
    // Delete while attached: 409 dependency_violation naming the VPC.
    const busy = refusedWith(
      await alice.sdk.DELETE('/internet-gateways/{id}', byId(igw.id)),
      409,
      'dependency_violation',
    );
    expect(busy.message).toContain(vpcId);
    expect(await countEvents(t)).toBe(before);

    const detached = unwrap(await detachIgw(alice, igw.id));
    expect(detached).toMatchObject({ status: 'detached', vpc_id: null });
    unwrap(await detachIgw(alice, igw.id));
    unwrap(await alice.sdk.DELETE('/internet-gateways/{id}', byId(igw.id)));
    refusedWith(await alice.sdk.GET('/internet-gateways/{id}', byId(igw.id)), 404, 'not_found');
    unwrap(await alice.sdk.DELETE('/internet-gateways/{id}', byId(second.id)));

    expect(
      await auditedActions(alice.sdk, `internet_gateway/${igw.id}`, [
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
    const igw = await createIgw(alice);
    const before = await countEvents(t, ['AccessDenied']);
    for (const res of [
      await bob.sdk.GET('/internet-gateways/{id}', byId(igw.id)),
      await attachIgw(bob, igw.id, vpcId),
      await detachIgw(bob, igw.id),
      await bob.sdk.DELETE('/internet-gateways/{id}', byId(igw.id)),
    ]) {
      refusedWith(res, 404, 'not_found');
    }
    const bobsIgw = await createIgw(bob);
    const cross = refusedWith(await attachIgw(bob, bobsIgw.id, vpcId), 404, 'not_found');
    expect(cross.details).toMatchObject({ resource: 'vpc' });
    expect(itemsOf(unwrap(await bob.sdk.GET('/internet-gateways')))).toHaveLength(1);
    refusedWith(await attachIgw(bob, bobsIgw.id, 'nope'), 400, 'validation_error');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before + 1);
  });

  it('elastic IPs come from the pool, unique under concurrent allocation, and page by cursor', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => allocate(bob)));
    const ips = results.map((r) => r.public_ip);
    expect(new Set(ips).size).toBe(4);
    for (const eip of results) {
      expect(eip.status).toBe('allocated');
      expect(eip.public_ip).toMatch(/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
      expect(eip.public_ip).not.toBe(upstreamAddress(t.config.eipPool));
      expect(eip.arn).toBe(`arn:nimbus:vpc:local:${bob.tenantId}:eip/${eip.id}`);
    }

    const list = (query: { limit?: number; envelope?: boolean; cursor?: string }) =>
      bob.sdk.GET('/elastic-ips', { params: { query } });
    expect(itemsOf(unwrap(await list({ limit: 3 })))).toHaveLength(3);
    const page1 = unwrap(await list({ limit: 3, envelope: true }));
    if (Array.isArray(page1)) throw new Error('envelope=true answers a page');
    expect(page1.page.has_more).toBe(true);
    const page2 = itemsOf(
      unwrap(await list({ limit: 3, cursor: page1.page.next_cursor as string })),
    );
    const seen = [...page1.items, ...page2].map((e) => e.id);
    expect(new Set(seen)).toEqual(new Set(results.map((r) => r.id)));
    refusedWith(await list({ cursor: 'bad!' }), 400, 'validation_error');

    // Alice sees none of them; each is 404 to her.
    expect(itemsOf(unwrap(await alice.sdk.GET('/elastic-ips')))).toEqual([]);
    const id = results[0].id;
    refusedWith(await alice.sdk.GET('/elastic-ips/{id}', byId(id)), 404, 'not_found');
    refusedWith(await release(alice, id), 404, 'not_found');
    refusedWith(
      await alice.sdk.POST('/elastic-ips/{id}/associate', {
        ...byId(id),
        body: { instance_id: randomUUID() },
      }),
      404,
      'not_found',
    );

    // Released addresses go back to the pool and out of the lists.
    for (const eip of results) unwrap(await release(bob, eip.id));
    expect(itemsOf(unwrap(await bob.sdk.GET('/elastic-ips')))).toEqual([]);
    const again = await allocate(bob);
    expect(ips).toContain(again.public_ip);
    unwrap(await release(bob, again.id));
  });

  it('association is refused for a missing instance (404) and appends nothing', async () => {
    const eip = await allocate(alice);
    const before = await countEvents(t);
    const missing = refusedWith(
      await alice.sdk.POST('/elastic-ips/{id}/associate', {
        ...byId(eip.id),
        body: { instance_id: randomUUID() },
      }),
      404,
      'not_found',
    );
    expect(missing.details).toMatchObject({ resource: 'instance' });
    // A body without the instance, which the SDK's types refuse: sent raw on purpose.
    await conformingHttp(t)
      .post(`/elastic-ips/${eip.id}/associate`)
      .set('x-api-key', alice.apiKey)
      .send({})
      .expect(400);
    // Disassociating an address that is not associated changes nothing.
    const same = unwrap(await alice.sdk.POST('/elastic-ips/{id}/disassociate', byId(eip.id)));
    expect(same).toMatchObject({ id: eip.id, status: 'allocated', instance_id: null });
    expect(await countEvents(t)).toBe(before);
    unwrap(await release(alice, eip.id));
    expect(
      await auditedActions(alice.sdk, `elastic_ip/${eip.id}`, ['ELASTIC_IP_RELEASE:success']),
    ).toEqual(
      expect.arrayContaining(['ELASTIC_IP_ALLOCATE:success', 'ELASTIC_IP_RELEASE:success']),
    );
  });

  it('an elastic IP is metered in eip-hours while allocated, at the catalog price', async () => {
    const prices = unwrap(await alice.sdk.GET('/billing/prices'));
    expect(JSON.stringify(prices)).toContain('network:eip');
    const eip = await allocate(alice);
    await new Promise((r) => setTimeout(r, 1100));
    unwrap(await release(alice, eip.id));
    const deadline = Date.now() + 20_000;
    let usage: Array<{ resource_id: string | null }> = [];
    while (Date.now() < deadline) {
      usage = itemsOf(unwrap(await alice.sdk.GET('/billing/usage')));
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
    const eip = await allocate(alice);

    // No internet gateway yet: accepted pending, then failed with its code.
    const early = unwrap(await createNat(alice, subnetId, eip.id));
    expect(early).toMatchObject({
      status: 'pending',
      vpc_id: vpcId,
      subnet_id: subnetId,
      elastic_ip_id: eip.id,
      private_ip: '10.30.1.4',
    });
    expect(early.arn).toBe(`arn:nimbus:vpc:local:${alice.tenantId}:nat-gateway/${early.id}`);
    await settled(NAT_GATEWAY_SAGA, early.id);
    expect(await natReached(alice, early.id, 'failed')).toMatchObject({
      status: 'failed',
      failure_code: 'no_internet_gateway',
    });
    expect(unwrap(await alice.sdk.GET('/elastic-ips/{id}', byId(eip.id))).status).toBe('allocated');

    const igw = await createIgw(alice);
    unwrap(await attachIgw(alice, igw.id, vpcId));
    const created = await createNat(alice, subnetId, eip.id);
    expect(created.response.status).toBe(201);
    const natId = unwrap(created).id;
    expect(unwrap(created).private_ip).toBe('10.30.1.5');
    expect((await settled(NAT_GATEWAY_SAGA, natId)).status).toBe('completed');
    expect(await natReached(alice, natId, 'active')).toMatchObject({
      status: 'active',
      public_ip: eip.public_ip,
    });
    expect(unwrap(await alice.sdk.GET('/elastic-ips/{id}', byId(eip.id)))).toMatchObject({
      status: 'associated',
      nat_gateway_id: natId,
    });

    // The elastic IP belongs to the NAT gateway now: 409 on disassociate and release.
    const before = await countEvents(t);
    refusedWith(
      await alice.sdk.POST('/elastic-ips/{id}/disassociate', byId(eip.id)),
      409,
      'dependency_violation',
    );
    expect((await release(alice, eip.id)).response.status).toBe(409);
    // A second NAT gateway with the same elastic IP fails with elastic_ip_in_use.
    const second = unwrap(await createNat(alice, subnetId, eip.id));
    expect(await countEvents(t)).toBeGreaterThan(before);
    await settled(NAT_GATEWAY_SAGA, second.id);
    expect(await natReached(alice, second.id, 'failed')).toMatchObject({
      failure_code: 'elastic_ip_in_use',
    });

    // Listing needs vpc_id (400), another tenant's VPC is 404, and pages like every list.
    const listNats = (
      account: SdkAccount,
      query: { vpc_id: string; limit?: number; envelope?: boolean },
    ) => account.sdk.GET('/nat-gateways', { params: { query } });
    await conformingHttp(t).get('/nat-gateways').set('x-api-key', alice.apiKey).expect(400);
    refusedWith(await listNats(bob, { vpc_id: vpcId }), 404, 'not_found');
    refusedWith(await bob.sdk.GET('/nat-gateways/{id}', byId(natId)), 404, 'not_found');
    refusedWith(await bob.sdk.DELETE('/nat-gateways/{id}', byId(natId)), 404, 'not_found');
    const listed = unwrap(await listNats(alice, { vpc_id: vpcId, limit: 2, envelope: true }));
    if (Array.isArray(listed)) throw new Error('envelope=true answers a page');
    expect(listed.items).toHaveLength(2);
    expect(listed.page.has_more).toBe(true);

    // Another tenant's subnet or elastic IP is 404 and appends nothing.
    const bobsEip = await allocate(bob);
    const quiet = await countEvents(t, ['AccessDenied']);
    refusedWith(await createNat(bob, subnetId, bobsEip.id), 404, 'not_found');
    refusedWith(await createNat(alice, subnetId, bobsEip.id), 404, 'not_found');
    // A body without the elastic IP, which the SDK's types refuse: sent raw on purpose.
    await conformingHttp(t)
      .post('/nat-gateways')
      .set('x-api-key', alice.apiKey)
      .send({ subnet_id: subnetId })
      .expect(400);
    expect(await countEvents(t, ['AccessDenied'])).toBe(quiet);
    unwrap(await release(bob, bobsEip.id));

    const deleting = unwrap(await alice.sdk.DELETE('/nat-gateways/{id}', byId(natId)));
    expect(['deleting', 'deleted']).toContain(deleting.status);
    expect((await settled(NAT_GATEWAY_DELETE_SAGA, natId)).status).toBe('completed');
    const deadline = Date.now() + 20_000;
    while (
      (await alice.sdk.GET('/nat-gateways/{id}', byId(natId))).response.status !== 404 &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    refusedWith(await alice.sdk.GET('/nat-gateways/{id}', byId(natId)), 404, 'not_found');
    expect(await eipReached(alice, eip.id, 'allocated')).toMatchObject({
      status: 'allocated',
      nat_gateway_id: null,
    });
    for (const id of [early.id, second.id]) {
      unwrap(await alice.sdk.DELETE('/nat-gateways/{id}', byId(id)));
      await settled(NAT_GATEWAY_DELETE_SAGA, id);
    }
    unwrap(await detachIgw(alice, igw.id));
    unwrap(await release(alice, eip.id));
    expect(
      await auditedActions(alice.sdk, `nat_gateway/${natId}`, ['NAT_GATEWAY_DELETE:success']),
    ).toEqual(expect.arrayContaining(['NAT_GATEWAY_CREATE:success', 'NAT_GATEWAY_DELETE:success']));
    expect(
      await auditedActions(alice.sdk, `nat_gateway/${early.id}`, ['NAT_GATEWAY_CREATE:failure']),
    ).toEqual(expect.arrayContaining(['NAT_GATEWAY_CREATE:failure']));
  });

  it('a NAT gateway whose request died after recording it still becomes active: its event starts the saga', async () => {
    const vpcId = await vpcOf(alice, '10.31.0.0/16');
    const subnetId = await subnetOf(alice, vpcId, '10.31.0.0/16', '10.31.1.0/24');
    const eip = await allocate(alice);
    const igw = await createIgw(alice);
    unwrap(await attachIgw(alice, igw.id, vpcId));

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
    expect(await natReached(alice, natId, 'active')).toMatchObject({
      status: 'active',
      elastic_ip_id: eip.id,
    });
  });

  it('the elastic_ips quota (default 5) refuses the sixth with 403 quota_exceeded and appends nothing', async () => {
    const carol = await sdkSignUp(t, 'edge-carol');
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await allocate(carol)).id);
    const before = await countEvents(t);
    refusedWith(await carol.sdk.POST('/elastic-ips'), 403, 'quota_exceeded');
    expect(await countEvents(t)).toBe(before);
    unwrap(await release(carol, ids[0]));
    ids[0] = (await allocate(carol)).id;
    for (const id of ids) unwrap(await release(carol, id));
  });
});
