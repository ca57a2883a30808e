/**
 * VPC peerings over HTTP, through the generated SDK: request, accept across tenants, reject,
 * expiry by the saga's persisted timeout, delete; status and error codes, tenant walls, audit.
 * The fabric is the simulated one here (the links carry real packets on OVN in
 * test/e2e/network-edge-traffic.e2e.spec.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import {
  VPC_PEERING_DELETE_SAGA,
  VPC_PEERING_SAGA,
} from '../../sagas/vpc-peering/vpc-peering.saga';
import { startTestApp, type TestApp } from '../support/app';
import {
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

describe('VPC peerings (e2e)', () => {
  let t: TestApp;
  let alice: SdkAccount;
  let bob: SdkAccount;
  let carol: SdkAccount;

  async function vpc(account: SdkAccount, cidr: string): Promise<string> {
    return unwrap(
      await account.sdk.POST('/vpcs', { body: { name: `peer-${cidr}`, cidr_block: cidr } }),
    ).id;
  }

  const request = (account: SdkAccount, requester: string, accepter: string) =>
    account.sdk.POST('/vpc-peerings', {
      body: { requester_vpc_id: requester, accepter_vpc_id: accepter },
    });
  const accept = (account: SdkAccount, id: string) =>
    account.sdk.POST('/vpc-peerings/{id}/accept', byId(id));
  const reject = (account: SdkAccount, id: string) =>
    account.sdk.POST('/vpc-peerings/{id}/reject', byId(id));

  const runtime = () => t.app.get<SagaRuntime>(SAGA_RUNTIME);

  /** Polls GET until the peering shows `status`. */
  const statusReached = (account: SdkAccount, id: string, status: string) =>
    pollUntil(
      () => account.sdk.GET('/vpc-peerings/{id}', byId(id)),
      (p) => p.status === status,
      20_000,
    );

  beforeAll(async () => {
    t = await startTestApp({
      label: 'network-peering',
      config: { ovn: 'simulated', peeringExpiryMs: 3_000, authRateLimitPerMinute: 100 },
    });
    alice = await sdkSignUp(t, 'peer-alice');
    bob = await sdkSignUp(t, 'peer-bob');
    carol = await sdkSignUp(t, 'peer-carol');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('a request across tenants is accepted by the accepter only, becomes active, and is deleted', async () => {
    const a = await vpc(alice, '10.41.0.0/16');
    const b = await vpc(bob, '10.42.0.0/16');
    const created = await request(alice, a, b);
    const peering = unwrap(created);
    const id = peering.id;
    expect(peering).toMatchObject({
      status: 'pending-acceptance',
      requester_vpc_id: a,
      accepter_vpc_id: b,
      requester_tenant_id: alice.tenantId,
      accepter_tenant_id: bob.tenantId,
      arn: `arn:nimbus:vpc:local:${alice.tenantId}:vpc-peering/${id}`,
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('location')).toBe(`/vpc-peerings/${id}`);
    // Both sides see it; a third tenant does not.
    expect(itemsOf(unwrap(await bob.sdk.GET('/vpc-peerings'))).map((p) => p.id)).toEqual([id]);
    refusedWith(await carol.sdk.GET('/vpc-peerings/{id}', byId(id)), 404, 'not_found');
    refusedWith(await accept(carol, id), 404, 'not_found');
    // The requester sees nothing else of the accepter's.
    refusedWith(await alice.sdk.GET('/vpcs/{id}', byId(b)), 404, 'not_found');

    // The requester cannot accept (403); a second request of the pair is 409.
    const before = await countEvents(t, ['AccessDenied']);
    refusedWith(await accept(alice, id), 403, 'forbidden');
    refusedWith(await request(bob, b, a), 409, 'conflict');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    const accepted = unwrap(await accept(bob, id));
    expect(['provisioning', 'active']).toContain(accepted.status);
    expect((await runtime().whenSettled(VPC_PEERING_SAGA, id, 30_000)).status).toBe('completed');
    expect((await statusReached(alice, id, 'active')).status).toBe('active');
    refusedWith(await reject(bob, id), 409, 'invalid_state');
    // A VPC with a live peering cannot be deleted.
    refusedWith(await alice.sdk.DELETE('/vpcs/{id}', byId(a)), 409, 'dependency_violation');

    const deleting = unwrap(await bob.sdk.DELETE('/vpc-peerings/{id}', byId(id)));
    expect(['deleting', 'deleted']).toContain(deleting.status);
    expect((await runtime().whenSettled(VPC_PEERING_DELETE_SAGA, id, 30_000)).status).toBe(
      'completed',
    );
    const deadline = Date.now() + 10_000;
    while (
      (await alice.sdk.GET('/vpc-peerings/{id}', byId(id))).response.status !== 404 &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    refusedWith(await alice.sdk.GET('/vpc-peerings/{id}', byId(id)), 404, 'not_found');
    expect((await alice.sdk.DELETE('/vpcs/{id}', byId(a))).response.status).toBe(204);
  });

  it('self-peering and overlapping blocks are 400; an unknown VPC is 404; nothing is appended', async () => {
    const a = await vpc(alice, '10.43.0.0/16');
    const overlapping = await vpc(alice, '10.43.0.0/20');
    const before = await countEvents(t);
    refusedWith(await request(alice, a, a), 400, 'validation_error');
    const overlap = refusedWith(await request(alice, a, overlapping), 400, 'validation_error');
    expect(overlap.message).toMatch(/overlap/);
    refusedWith(await request(alice, a, '00000000-0000-4000-8000-000000000000'), 404, 'not_found');
    // Someone else's VPC as the requester: 404.
    const b = await vpc(bob, '10.44.0.0/16');
    const afterBob = await countEvents(t);
    refusedWith(await request(alice, b, a), 404, 'not_found');
    // A body without the accepter, which the SDK's types refuse: sent raw on purpose.
    await conformingHttp(t)
      .post('/vpc-peerings')
      .set('x-api-key', alice.apiKey)
      .send({ requester_vpc_id: a })
      .expect(400);
    expect(await countEvents(t)).toBe(afterBob);
    expect(afterBob).toBeGreaterThan(before);
  });

  it('a rejected request stays rejected; an unanswered one expires by the saga timeout', async () => {
    const a = await vpc(alice, '10.45.0.0/16');
    const b = await vpc(bob, '10.46.0.0/16');
    const c = await vpc(bob, '10.47.0.0/16');
    const rid = unwrap(await request(alice, a, b)).id;
    expect(unwrap(await reject(bob, rid)).status).toBe('rejected');
    expect((await runtime().whenSettled(VPC_PEERING_SAGA, rid, 30_000)).status).toBe('completed');
    refusedWith(await accept(bob, rid), 409, 'invalid_state');

    const unanswered = unwrap(await request(alice, a, c));
    const uid = unanswered.id;
    expect(Date.parse(unanswered.expires_at as string)).toBeGreaterThan(Date.now());
    expect((await runtime().whenSettled(VPC_PEERING_SAGA, uid, 30_000)).status).toBe('completed');
    expect(await statusReached(alice, uid, 'expired')).toMatchObject({
      status: 'expired',
      expires_at: null,
    });
    refusedWith(await accept(bob, uid), 409, 'invalid_state');
    // Expired and rejected requests no longer hold the pair.
    expect((await request(alice, a, c)).response.status).toBe(201);
  });
});
