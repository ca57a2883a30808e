/**
 * Networking over HTTP on the whole application (simulated fabric: these tests are about the
 * API's contract; test/e2e/network-ovn.e2e.spec.ts carries real packets): VPCs, subnets, security
 * groups and route tables; validation 400s with their codes and nothing appended, another
 * tenant's ids are 404, conflicts and dependency violations are 409, lists page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import { countEvents, signUp, type Account } from './identity.helpers';

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

describe('networking API (e2e, simulated fabric)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;

  const api = (account: Account = alice) => {
    const http = t.http();
    const auth = (req: ReturnType<typeof http.get>) => req.set('x-api-key', account.apiKey);
    return {
      get: (path: string) => auth(http.get(path)),
      post: (path: string, body?: object) => auth(http.post(path)).send(body ?? {}),
      delete: (path: string) => auth(http.delete(path)),
    };
  };

  /** The request is refused with `status` and `code`, and appends no event. */
  async function refused(
    request: () => Promise<{ status: number; body: unknown }>,
    status: number,
    code: string,
  ): Promise<ErrorBody> {
    const before = await countEvents(t, ['AccessDenied']);
    const res = await request();
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    const body = res.body as ErrorBody;
    expect(body.error.code).toBe(code);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    return body;
  }

  async function auditedActions(resource: string, expected: string[]): Promise<string[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await api().get(`/audit?resource=${resource}&limit=200`).expect(200);
      const actions = (res.body as Array<{ action: string }>).map((r) => r.action);
      if (expected.every((a) => actions.includes(a)) || Date.now() > deadline) return actions;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    t = await startTestApp({
      label: 'network-e2e',
      config: {
        docker: 'simulated',
        ovs: 'simulated',
        ovn: 'simulated',
        authRateLimitPerMinute: 10_000,
      },
    });
    alice = await signUp(t, 'net-alice');
    bob = await signUp(t, 'net-bob');
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('VPCs', () => {
    it('creates a VPC with the default block, its main route table and default group', async () => {
      const res = await api().post('/vpcs', { name: 'prod-vpc' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers.location).toBe(`/vpcs/${res.body.id}`);
      expect(res.headers.etag).toMatch(/^W\/"\d+"$/);
      expect(res.body).toMatchObject({
        name: 'prod-vpc',
        cidr_block: '10.0.0.0/16',
        status: 'available',
        is_default: false,
        arn: `arn:nimbus:vpc:local:${alice.tenantId}:vpc/${res.body.id}`,
      });
      const vpc = res.body as {
        id: string;
        main_route_table_id: string;
        default_security_group_id: string;
      };
      expect((await api().get(`/vpcs/${vpc.id}`)).body).toEqual(res.body);
      expect(await auditedActions(`vpc/${vpc.id}`, ['VPC_CREATE'])).toContain('VPC_CREATE');
    });

    it('refuses bad blocks and names with 400 validation_error naming the field', async () => {
      for (const cidr of ['10.0.0.0/8', '10.0.0.0/29', '8.8.0.0/16', '10.0.0.7/16', 'ten']) {
        const body = await refused(
          () => api().post('/vpcs', { name: 'x', cidr_block: cidr }),
          400,
          'validation_error',
        );
        expect(JSON.stringify(body.error.details)).toContain('cidr_block');
      }
      await refused(() => api().post('/vpcs', { name: '' }), 400, 'validation_error');
      await refused(() => api().post('/vpcs', {}), 400, 'validation_error');
      await refused(
        () => api().post('/vpcs', { name: 'x', colour: 'blue' }),
        400,
        'validation_error',
      );
    });

    it("keeps tenants apart: another tenant's VPC is 404 and not listed", async () => {
      const created = await api().post('/vpcs', { name: 'private', cidr_block: '10.9.0.0/16' });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      await refused(() => api(bob).get(`/vpcs/${id}`), 404, 'not_found');
      await refused(() => api(bob).delete(`/vpcs/${id}`), 404, 'not_found');
      await refused(
        () =>
          api(bob).post(`/vpcs/${id}/subnets`, {
            name: 's',
            cidr_block: '10.9.1.0/24',
            availability_zone: 'local-1a',
          }),
        404,
        'not_found',
      );
      await refused(() => api(bob).get(`/vpcs/${id}/subnets`), 404, 'not_found');
      const bobs = await api(bob).get('/vpcs').expect(200);
      expect((bobs.body as Array<{ id: string }>).map((v) => v.id)).not.toContain(id);
    });

    it('pages the list with a cursor, every VPC once, in creation order', async () => {
      const carol = await signUp(t, 'net-carol');
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const res = await api(carol).post('/vpcs', { name: `v${i}`, cidr_block: `10.${i}.0.0/16` });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        ids.push(res.body.id as string);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `limit=2&cursor=${cursor}` : 'limit=2&envelope=true';
        const res = await api(carol).get(`/vpcs?${query}`).expect(200);
        const page = res.body as {
          items: Array<{ id: string }>;
          page: { next_cursor: string | null; has_more: boolean };
        };
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((v) => v.id));
        cursor = page.page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(ids);
      const bare = await api(carol).get('/vpcs?limit=200').expect(200);
      expect(Array.isArray(bare.body)).toBe(true);
      await refused(() => api(carol).get('/vpcs?limit=0'), 400, 'validation_error');
      await refused(() => api(carol).get('/vpcs?cursor=!!'), 400, 'validation_error');
    });
  });

  describe('subnets', () => {
    let vpcId: string;

    beforeAll(async () => {
      const res = await api().post('/vpcs', { name: 'subnets', cidr_block: '10.20.0.0/16' });
      expect(res.status).toBe(201);
      vpcId = res.body.id as string;
    });

    it('creates a subnet inside the VPC, shown with its gateway and free addresses', async () => {
      const res = await api().post(`/vpcs/${vpcId}/subnets`, {
        name: 'private-1',
        cidr_block: '10.20.1.0/24',
        availability_zone: 'local-1a',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers.location).toBe(`/subnets/${res.body.id}`);
      expect(res.body).toMatchObject({
        vpc_id: vpcId,
        name: 'private-1',
        cidr_block: '10.20.1.0/24',
        availability_zone: 'local-1a',
        gateway_ip: '10.20.1.1',
        available_ip_address_count: 251,
        status: 'available',
        arn: `arn:nimbus:vpc:local:${alice.tenantId}:subnet/${res.body.id}`,
      });
      expect((await api().get(`/subnets/${res.body.id}`)).body).toEqual(res.body);
      const list = await api().get(`/vpcs/${vpcId}/subnets`).expect(200);
      expect((list.body as Array<{ id: string }>).map((s) => s.id)).toEqual([res.body.id]);
      await refused(() => api(bob).get(`/subnets/${res.body.id}`), 404, 'not_found');
      await refused(() => api(bob).delete(`/subnets/${res.body.id}`), 404, 'not_found');
    });

    it('refuses a block outside the VPC (400) and one overlapping a sibling (409)', async () => {
      const outside = await refused(
        () =>
          api().post(`/vpcs/${vpcId}/subnets`, {
            name: 'x',
            cidr_block: '10.21.0.0/24',
            availability_zone: 'local-1a',
          }),
        400,
        'validation_error',
      );
      expect(outside.error.message).toContain('not inside');
      const overlap = await refused(
        () =>
          api().post(`/vpcs/${vpcId}/subnets`, {
            name: 'x',
            cidr_block: '10.20.1.128/25',
            availability_zone: 'local-1a',
          }),
        409,
        'conflict',
      );
      expect(overlap.error.message).toContain('overlaps');
      await refused(
        () =>
          api().post(`/vpcs/${vpcId}/subnets`, {
            name: 'x',
            cidr_block: '10.20.2.0/24',
            availability_zone: 'Zone A',
          }),
        400,
        'validation_error',
      );
      await refused(
        () => api().post(`/vpcs/${vpcId}/subnets`, { name: 'x', availability_zone: 'local-1a' }),
        400,
        'validation_error',
      );
    });

    it('refuses to delete a VPC with subnets (409 dependency_violation naming them), then deletes both', async () => {
      const subnets = (await api().get(`/vpcs/${vpcId}/subnets`).expect(200)).body as Array<{
        id: string;
      }>;
      const body = await refused(() => api().delete(`/vpcs/${vpcId}`), 409, 'dependency_violation');
      expect(body.error.details.dependents).toMatchObject({ subnets: subnets.map((s) => s.id) });
      expect(body.error.message).toContain(subnets[0].id);
      for (const subnet of subnets) await api().delete(`/subnets/${subnet.id}`).expect(204);
      await refused(() => api().get(`/subnets/${subnets[0].id}`), 404, 'not_found');
      await api().delete(`/vpcs/${vpcId}`).expect(204);
      await refused(() => api().get(`/vpcs/${vpcId}`), 404, 'not_found');
      await refused(() => api().delete(`/vpcs/${vpcId}`), 404, 'not_found');
      expect(await auditedActions(`vpc/${vpcId}`, ['VPC_CREATE', 'VPC_DELETE'])).toEqual(
        expect.arrayContaining(['VPC_CREATE', 'VPC_DELETE']),
      );
    });
  });
});
