/**
 * Networking over HTTP on the whole application (simulated fabric: these tests are about the
 * API's contract; test/e2e/network-ovn.e2e.spec.ts carries real packets): VPCs, subnets, security
 * groups and route tables; validation 400s with their codes and nothing appended, another
 * tenant's ids are 404, conflicts and dependency violations are 409, lists page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { countEvents, signUp, type Account } from './identity.helpers';

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

describe('networking API (e2e, simulated fabric)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;

  const api = (account: Account = alice) => {
    const http = conformingHttp(t);
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
      // Five VPCs is the default quota: the sixth is refused with nothing appended.
      await refused(
        () => api(carol).post('/vpcs', { name: 'v5', cidr_block: '10.5.0.0/16' }),
        403,
        'quota_exceeded',
      );
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

  describe('security groups', () => {
    let vpcId: string;
    let defaultGroupId: string;
    let groupId: string;

    beforeAll(async () => {
      const res = await api().post('/vpcs', { name: 'groups', cidr_block: '10.30.0.0/16' });
      expect(res.status).toBe(201);
      vpcId = res.body.id as string;
      defaultGroupId = res.body.default_security_group_id as string;
    });

    it("lists the VPC's default group, which admits its own members", async () => {
      await refused(() => api().get('/security-groups'), 400, 'validation_error');
      await refused(() => api(bob).get(`/security-groups?vpc_id=${vpcId}`), 404, 'not_found');
      const res = await api().get(`/security-groups?vpc_id=${vpcId}`).expect(200);
      expect(res.body).toEqual([
        expect.objectContaining({
          id: defaultGroupId,
          vpc_id: vpcId,
          name: 'default',
          is_default: true,
          instance_ids: [],
          rules: [
            expect.objectContaining({
              direction: 'ingress',
              protocol: 'all',
              cidr: null,
              source_group_id: defaultGroupId,
            }),
          ],
        }),
      ]);
    });

    it('creates a group; a taken or reserved name is refused', async () => {
      const res = await api().post('/security-groups', {
        vpc_id: vpcId,
        name: 'web-tier',
        description: 'Port 80 and 443 allowed',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      groupId = res.body.id as string;
      expect(res.body).toMatchObject({
        vpc_id: vpcId,
        name: 'web-tier',
        is_default: false,
        rules: [],
        arn: `arn:nimbus:vpc:local:${alice.tenantId}:security-group/${groupId}`,
      });
      await refused(
        () => api().post('/security-groups', { vpc_id: vpcId, name: 'web-tier' }),
        409,
        'conflict',
      );
      await refused(
        () => api().post('/security-groups', { vpc_id: vpcId, name: 'default' }),
        400,
        'validation_error',
      );
      await refused(
        () => api(bob).post('/security-groups', { vpc_id: vpcId, name: 'x' }),
        404,
        'not_found',
      );
      await refused(() => api(bob).get(`/security-groups/${groupId}`), 404, 'not_found');
    });

    it('adds and removes rules; a duplicate is 409, a bad rule 400 naming the field', async () => {
      const rule = {
        direction: 'ingress',
        protocol: 'tcp',
        port_min: 80,
        port_max: 80,
        cidr: '0.0.0.0/0',
      };
      const res = await api().post(`/security-groups/${groupId}/rules`, rule);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const rules = res.body.rules as Array<{ id: string; port_min: number; priority: number }>;
      expect(rules).toEqual([
        expect.objectContaining({ port_min: 80, port_max: 80, priority: 100 }),
      ]);
      await refused(() => api().post(`/security-groups/${groupId}/rules`, rule), 409, 'conflict');
      for (const [bad, field] of [
        [{ ...rule, port_min: 70000, port_max: 70000 }, 'port_min'],
        [{ ...rule, port_min: 90, port_max: 80 }, 'port_max'],
        [{ ...rule, protocol: 'icmp' }, 'port_min'],
        [{ ...rule, cidr: '10.0.0.1/8' }, 'cidr'],
        [{ ...rule, direction: 'sideways' }, 'direction'],
        [{ ...rule, protocol: 'sctp' }, 'protocol'],
      ] as const) {
        const body = await refused(
          () => api().post(`/security-groups/${groupId}/rules`, bad),
          400,
          'validation_error',
        );
        expect(JSON.stringify(body.error.details), JSON.stringify(bad)).toContain(field);
      }
      await refused(
        () =>
          api(bob).post(`/security-groups/${groupId}/rules`, {
            ...rule,
            port_min: 81,
            port_max: 81,
          }),
        404,
        'not_found',
      );
      await api().delete(`/security-groups/${groupId}/rules/${rules[0].id}`).expect(204);
      await refused(
        () => api().delete(`/security-groups/${groupId}/rules/${rules[0].id}`),
        404,
        'not_found',
      );
      expect((await api().get(`/security-groups/${groupId}`).expect(200)).body.rules).toEqual([]);
    });

    it('attach needs an instance with a NIC in the VPC (404 otherwise)', async () => {
      await refused(
        () =>
          api().post('/security-groups/attach', {
            instance_id: '00000000-0000-4000-8000-000000000000',
            group_id: groupId,
          }),
        404,
        'not_found',
      );
      await refused(
        () => api().post('/security-groups/attach', { instance_id: 'x', group_id: groupId }),
        400,
        'validation_error',
      );
    });

    it('refuses to delete the default group (409) and a VPC whose groups remain; deletes a group', async () => {
      await refused(() => api().delete(`/security-groups/${defaultGroupId}`), 409, 'invalid_state');
      const body = await refused(() => api().delete(`/vpcs/${vpcId}`), 409, 'dependency_violation');
      expect(body.error.details.dependents).toMatchObject({ security_groups: [groupId] });
      await api().delete(`/security-groups/${groupId}`).expect(204);
      await refused(() => api().get(`/security-groups/${groupId}`), 404, 'not_found');
      await api().delete(`/vpcs/${vpcId}`).expect(204);
      await refused(() => api().get(`/security-groups/${defaultGroupId}`), 404, 'not_found');
    });
  });

  describe('route tables', () => {
    let vpcId: string;
    let mainId: string;
    let tableId: string;
    let subnetId: string;

    beforeAll(async () => {
      const res = await api().post('/vpcs', { name: 'routes', cidr_block: '10.40.0.0/16' });
      expect(res.status).toBe(201);
      vpcId = res.body.id as string;
      mainId = res.body.main_route_table_id as string;
      const subnet = await api().post(`/vpcs/${vpcId}/subnets`, {
        name: 'a',
        cidr_block: '10.40.1.0/24',
        availability_zone: 'local-1a',
      });
      expect(subnet.status).toBe(201);
      subnetId = subnet.body.id as string;
    });

    it("lists the VPC's main table with its local route", async () => {
      await refused(() => api().get('/route-tables'), 400, 'validation_error');
      await refused(() => api(bob).get(`/route-tables?vpc_id=${vpcId}`), 404, 'not_found');
      const res = await api().get(`/route-tables?vpc_id=${vpcId}`).expect(200);
      expect(res.body).toEqual([
        expect.objectContaining({
          id: mainId,
          is_main: true,
          subnet_ids: [],
          routes: [
            expect.objectContaining({
              destination_cidr: '10.40.0.0/16',
              target_type: 'local',
              target_id: null,
            }),
          ],
        }),
      ]);
    });

    it('creates a table; a second main one is 409', async () => {
      const res = await api().post('/route-tables', { vpc_id: vpcId, name: 'custom-rt' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      tableId = res.body.id as string;
      expect(res.body).toMatchObject({
        is_main: false,
        arn: `arn:nimbus:vpc:local:${alice.tenantId}:route-table/${tableId}`,
      });
      await refused(
        () => api().post('/route-tables', { vpc_id: vpcId, name: 'm', is_main: true }),
        409,
        'conflict',
      );
      await refused(() => api(bob).get(`/route-tables/${tableId}`), 404, 'not_found');
    });

    it('routes to an attached internet gateway; targets outside the VPC are 404', async () => {
      await refused(
        () =>
          api().post(`/route-tables/${tableId}/routes`, {
            destination_cidr: '0.0.0.0/0',
            target_type: 'igw',
            target_id: '00000000-0000-4000-8000-000000000000',
          }),
        404,
        'not_found',
      );
      await refused(
        () =>
          api().post(`/route-tables/${tableId}/routes`, {
            destination_cidr: '0.0.0.0/0',
            target_type: 'local',
            target_id: '00000000-0000-4000-8000-000000000000',
          }),
        400,
        'validation_error',
      );
      await refused(
        () =>
          api().post(`/route-tables/${tableId}/routes`, {
            destination_cidr: '0.0.0.1/0',
            target_type: 'igw',
            target_id: '00000000-0000-4000-8000-000000000000',
          }),
        400,
        'validation_error',
      );
      const igw = await api().post('/internet-gateways');
      expect(igw.status, JSON.stringify(igw.body)).toBe(201);
      const attached = await api().post(`/internet-gateways/${igw.body.id}/attach`, {
        vpc_id: vpcId,
      });
      expect(attached.status, JSON.stringify(attached.body)).toBe(200);
      const route = { destination_cidr: '0.0.0.0/0', target_type: 'igw', target_id: igw.body.id };
      const res = await api().post(`/route-tables/${tableId}/routes`, route);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const added = (res.body.routes as Array<{ id: string; target_type: string }>).find(
        (r) => r.target_type === 'igw',
      );
      expect(added).toMatchObject(route);
      await refused(() => api().post(`/route-tables/${tableId}/routes`, route), 409, 'conflict');
      await refused(() => api().delete(`/route-tables/${tableId}/routes`), 400, 'validation_error');
      await api().delete(`/route-tables/${tableId}/routes?route_id=${added?.id}`).expect(204);
      await refused(
        () => api().delete(`/route-tables/${tableId}/routes?route_id=${added?.id}`),
        404,
        'not_found',
      );
      await api().post(`/internet-gateways/${igw.body.id}/detach`).expect(200);
    });

    it('associates a subnet, refuses deletes while associated, disassociates', async () => {
      const res = await api().post(`/route-tables/${tableId}/associate`, { subnet_id: subnetId });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.subnet_ids).toEqual([subnetId]);
      const other = await api().post('/route-tables', { vpc_id: vpcId, name: 'other' });
      await refused(
        () => api().post(`/route-tables/${other.body.id}/associate`, { subnet_id: subnetId }),
        409,
        'conflict',
      );
      await api().delete(`/route-tables/${other.body.id}`).expect(204);
      const body = await refused(
        () => api().delete(`/route-tables/${tableId}`),
        409,
        'dependency_violation',
      );
      expect(body.error.details.dependents).toEqual({ subnets: [subnetId] });
      await refused(() => api().delete(`/route-tables/${mainId}`), 409, 'invalid_state');
      const back = await api().post(`/route-tables/${tableId}/disassociate`, {
        subnet_id: subnetId,
      });
      expect(back.status).toBe(200);
      expect(back.body.subnet_ids).toEqual([]);
      await api().delete(`/route-tables/${tableId}`).expect(204);
      await refused(() => api().get(`/route-tables/${tableId}`), 404, 'not_found');
      expect(await auditedActions(`route_table/${tableId}`, ['ROUTE_TABLE_ASSOCIATE'])).toEqual(
        expect.arrayContaining([
          'ROUTE_TABLE_CREATE',
          'ROUTE_TABLE_ASSOCIATE',
          'ROUTE_TABLE_DELETE',
        ]),
      );
    });
  });
});
