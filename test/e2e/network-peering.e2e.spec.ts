/**
 * VPC peerings over HTTP: request, accept across tenants, reject, expiry by the saga's persisted
 * timeout, delete; status and error codes, tenant walls, audit. The fabric is the simulated one
 * here (the links carry real packets on OVN in test/e2e/network-edge-traffic.e2e.spec.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SagaRuntime } from '../../sagas/runtime/saga-runtime';
import { SAGA_RUNTIME } from '../../sagas/runtime/sagas.module';
import {
  VPC_PEERING_DELETE_SAGA,
  VPC_PEERING_SAGA,
} from '../../sagas/vpc-peering/vpc-peering.saga';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';

describe('VPC peerings (e2e)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let carol: Account;

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

  async function vpc(account: Account, cidr: string): Promise<string> {
    const res = await api(account).post('/vpcs', { name: `peer-${cidr}`, cidr_block: cidr });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  const runtime = () => t.app.get<SagaRuntime>(SAGA_RUNTIME);

  /** Polls GET until the peering shows `status`. */
  async function statusReached(account: Account, id: string, status: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await api(account).get(`/vpc-peerings/${id}`);
      if (res.body?.status === status || Date.now() > deadline) return res;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    t = await startTestApp({
      label: 'network-peering',
      config: { ovn: 'simulated', peeringExpiryMs: 3_000, authRateLimitPerMinute: 100 },
    });
    alice = await signUp(t, 'peer-alice');
    bob = await signUp(t, 'peer-bob');
    carol = await signUp(t, 'peer-carol');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('a request across tenants is accepted by the accepter only, becomes active, and is deleted', async () => {
    const a = await vpc(alice, '10.41.0.0/16');
    const b = await vpc(bob, '10.42.0.0/16');
    const created = await api(alice)
      .post('/vpc-peerings', { requester_vpc_id: a, accepter_vpc_id: b })
      .expect(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({
      status: 'pending-acceptance',
      requester_vpc_id: a,
      accepter_vpc_id: b,
      requester_tenant_id: alice.tenantId,
      accepter_tenant_id: bob.tenantId,
      arn: `arn:nimbus:vpc:local:${alice.tenantId}:vpc-peering/${id}`,
    });
    expect(created.headers.location).toBe(`/vpc-peerings/${id}`);
    // Both sides see it; a third tenant does not.
    expect(
      (await api(bob).get('/vpc-peerings').expect(200)).body.map((p: { id: string }) => p.id),
    ).toEqual([id]);
    await api(carol).get(`/vpc-peerings/${id}`).expect(404);
    await api(carol).post(`/vpc-peerings/${id}/accept`).expect(404);
    // The requester sees nothing else of the accepter's.
    await api(alice).get(`/vpcs/${b}`).expect(404);

    // The requester cannot accept (403); a second request of the pair is 409.
    const before = await countEvents(t, ['AccessDenied']);
    expect((await api(alice).post(`/vpc-peerings/${id}/accept`).expect(403)).body.error.code).toBe(
      'forbidden',
    );
    const again = await api(bob)
      .post('/vpc-peerings', { requester_vpc_id: b, accepter_vpc_id: a })
      .expect(409);
    expect(again.body.error.code).toBe('conflict');
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);

    const accepted = await api(bob).post(`/vpc-peerings/${id}/accept`).expect(200);
    expect(['provisioning', 'active']).toContain(accepted.body.status);
    expect((await runtime().whenSettled(VPC_PEERING_SAGA, id, 30_000)).status).toBe('completed');
    expect((await statusReached(alice, id, 'active')).body.status).toBe('active');
    const late = await api(bob).post(`/vpc-peerings/${id}/reject`).expect(409);
    expect(late.body.error.code).toBe('invalid_state');
    // A VPC with a live peering cannot be deleted.
    expect((await api(alice).delete(`/vpcs/${a}`).expect(409)).body.error.code).toBe(
      'dependency_violation',
    );

    const deleting = await api(bob).delete(`/vpc-peerings/${id}`).expect(200);
    expect(['deleting', 'deleted']).toContain(deleting.body.status);
    expect((await runtime().whenSettled(VPC_PEERING_DELETE_SAGA, id, 30_000)).status).toBe(
      'completed',
    );
    const deadline = Date.now() + 10_000;
    while ((await api(alice).get(`/vpc-peerings/${id}`)).status !== 404 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await api(alice).get(`/vpc-peerings/${id}`).expect(404);
    await api(alice).delete(`/vpcs/${a}`).expect(204);
  });

  it('self-peering and overlapping blocks are 400; an unknown VPC is 404; nothing is appended', async () => {
    const a = await vpc(alice, '10.43.0.0/16');
    const overlapping = await vpc(alice, '10.43.0.0/20');
    const before = await countEvents(t);
    const self = await api(alice)
      .post('/vpc-peerings', { requester_vpc_id: a, accepter_vpc_id: a })
      .expect(400);
    expect(self.body.error.code).toBe('validation_error');
    const overlap = await api(alice)
      .post('/vpc-peerings', { requester_vpc_id: a, accepter_vpc_id: overlapping })
      .expect(400);
    expect(overlap.body.error.message).toMatch(/overlap/);
    await api(alice)
      .post('/vpc-peerings', {
        requester_vpc_id: a,
        accepter_vpc_id: '00000000-0000-4000-8000-000000000000',
      })
      .expect(404);
    // Someone else's VPC as the requester: 404.
    const b = await vpc(bob, '10.44.0.0/16');
    const afterBob = await countEvents(t);
    await api(alice).post('/vpc-peerings', { requester_vpc_id: b, accepter_vpc_id: a }).expect(404);
    await api(alice).post('/vpc-peerings', { requester_vpc_id: a }).expect(400);
    expect(await countEvents(t)).toBe(afterBob);
    expect(afterBob).toBeGreaterThan(before);
  });

  it('a rejected request stays rejected; an unanswered one expires by the saga timeout', async () => {
    const a = await vpc(alice, '10.45.0.0/16');
    const b = await vpc(bob, '10.46.0.0/16');
    const c = await vpc(bob, '10.47.0.0/16');
    const rejected = await api(alice)
      .post('/vpc-peerings', { requester_vpc_id: a, accepter_vpc_id: b })
      .expect(201);
    const rid = rejected.body.id as string;
    expect((await api(bob).post(`/vpc-peerings/${rid}/reject`).expect(200)).body.status).toBe(
      'rejected',
    );
    expect((await runtime().whenSettled(VPC_PEERING_SAGA, rid, 30_000)).status).toBe('completed');
    await api(bob).post(`/vpc-peerings/${rid}/accept`).expect(409);

    const unanswered = await api(alice)
      .post('/vpc-peerings', { requester_vpc_id: a, accepter_vpc_id: c })
      .expect(201);
    const uid = unanswered.body.id as string;
    expect(Date.parse(unanswered.body.expires_at as string)).toBeGreaterThan(Date.now());
    expect((await runtime().whenSettled(VPC_PEERING_SAGA, uid, 30_000)).status).toBe('completed');
    expect((await statusReached(alice, uid, 'expired')).body).toMatchObject({
      status: 'expired',
      expires_at: null,
    });
    const late = await api(bob).post(`/vpc-peerings/${uid}/accept`).expect(409);
    expect(late.body.error.code).toBe('invalid_state');
    // Expired and rejected requests no longer hold the pair.
    await api(alice).post('/vpc-peerings', { requester_vpc_id: a, accepter_vpc_id: c }).expect(201);
  });
});
