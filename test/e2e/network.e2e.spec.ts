/**
 * Networking over HTTP on the whole application (simulated fabric: these tests are about the
 * API's contract; test/e2e/network-ovn.e2e.spec.ts carries real packets): VPCs, subnets, security
 * groups and route tables; validation 400s with their codes and nothing appended, another
 * tenant's ids are 404, conflicts and dependency violations are 409, lists page. Calls go through
 * the generated SDK (every answer validated against the committed document); the bodies its
 * types refuse on purpose (a missing or unknown field, an enum value the document does not list)
 * are sent raw with `rawPost`, whose answers are validated against the document too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import {
  auditedActions,
  conformingHttp,
  itemsOf,
  refusedWith,
  sdkSignUp,
  unwrap,
  type SdkAccount,
  type Schemas,
} from '../support/sdk';
import { countEvents } from './identity.helpers';

type ErrorDetail = Schemas['ErrorEnvelope']['error'];

const byId = (id: string) => ({ params: { path: { id } } });
const inVpc = (vpcId: string) => ({ params: { path: { vpcId } } });
const ZERO_ID = '00000000-0000-4000-8000-000000000000';

describe('networking API (e2e, simulated fabric)', () => {
  let t: TestApp;
  let alice: SdkAccount;
  let bob: SdkAccount;

  /** The call is refused with `status` and `code`, and appends no event. */
  async function refused(
    call: () => Promise<{ error?: unknown; response: Response }>,
    status: number,
    code: string,
  ): Promise<ErrorDetail> {
    const before = await countEvents(t, ['AccessDenied']);
    const error = refusedWith(await call(), status, code);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    return error;
  }

  /**
   * A request the SDK's types do not allow (that is the point of the case: a missing or unknown
   * field, an enum value the document does not list), sent raw as alice; the answer is still
   * checked against the document. Same contract as `refused`.
   */
  async function refusedRaw(
    method: 'get' | 'post' | 'delete',
    path: string,
    body: object | null,
    status: number,
    code: string,
  ): Promise<ErrorDetail> {
    const before = await countEvents(t, ['AccessDenied']);
    const request = conformingHttp(t)[method](path).set('x-api-key', alice.apiKey);
    const res = await (body === null ? request : request.send(body));
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    const error = (res.body as Schemas['ErrorEnvelope']).error;
    expect(error.code).toBe(code);
    expect(await countEvents(t, ['AccessDenied'])).toBe(before);
    return error;
  }

  /** A 201/200 answer; 202 (`PENDING`, the fabric still realizing) does not occur on this fabric. */
  function realized<T extends object>(body: T | { id: string; status?: 'PENDING' }): T {
    if ('status' in body && body.status === 'PENDING') throw new Error('answered 202 PENDING');
    return body as T;
  }

  const createVpc = async (account: SdkAccount, name: string, cidr?: string) =>
    unwrap(
      await account.sdk.POST('/vpcs', {
        body: cidr === undefined ? { name } : { name, cidr_block: cidr },
      }),
    );

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
    alice = await sdkSignUp(t, 'net-alice');
    bob = await sdkSignUp(t, 'net-bob');
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('VPCs', () => {
    it('creates a VPC with the default block, its main route table and default group', async () => {
      const res = await alice.sdk.POST('/vpcs', { body: { name: 'prod-vpc' } });
      expect(res.response.status).toBe(201);
      const vpc = unwrap(res);
      expect(res.response.headers.get('location')).toBe(`/vpcs/${vpc.id}`);
      expect(res.response.headers.get('etag')).toMatch(/^W\/"\d+"$/);
      expect(vpc).toMatchObject({
        name: 'prod-vpc',
        cidr_block: '10.0.0.0/16',
        status: 'available',
        is_default: false,
        arn: `arn:nimbus:vpc:local:${alice.tenantId}:vpc/${vpc.id}`,
      });
      expect(vpc.main_route_table_id).toEqual(expect.any(String));
      expect(vpc.default_security_group_id).toEqual(expect.any(String));
      expect(unwrap(await alice.sdk.GET('/vpcs/{id}', byId(vpc.id)))).toEqual(vpc);
      expect(await auditedActions(alice.sdk, `vpc/${vpc.id}`, ['VPC_CREATE:success'])).toContain(
        'VPC_CREATE:success',
      );
    });

    it('refuses bad blocks and names with 400 validation_error naming the field', async () => {
      for (const cidr of ['10.0.0.0/8', '10.0.0.0/29', '8.8.0.0/16', '10.0.0.7/16', 'ten']) {
        const error = await refused(
          () => alice.sdk.POST('/vpcs', { body: { name: 'x', cidr_block: cidr } }),
          400,
          'validation_error',
        );
        expect(JSON.stringify(error.details)).toContain('cidr_block');
      }
      await refused(() => alice.sdk.POST('/vpcs', { body: { name: '' } }), 400, 'validation_error');
      // A missing name and an unknown field: bodies the SDK's types refuse.
      await refusedRaw('post', '/vpcs', {}, 400, 'validation_error');
      await refusedRaw('post', '/vpcs', { name: 'x', colour: 'blue' }, 400, 'validation_error');
    });

    it("keeps tenants apart: another tenant's VPC is 404 and not listed", async () => {
      const { id } = await createVpc(alice, 'private', '10.9.0.0/16');
      await refused(() => bob.sdk.GET('/vpcs/{id}', byId(id)), 404, 'not_found');
      await refused(() => bob.sdk.DELETE('/vpcs/{id}', byId(id)), 404, 'not_found');
      await refused(
        () =>
          bob.sdk.POST('/vpcs/{vpcId}/subnets', {
            ...inVpc(id),
            body: { name: 's', cidr_block: '10.9.1.0/24', availability_zone: 'local-1a' },
          }),
        404,
        'not_found',
      );
      await refused(() => bob.sdk.GET('/vpcs/{vpcId}/subnets', inVpc(id)), 404, 'not_found');
      const bobs = itemsOf(unwrap(await bob.sdk.GET('/vpcs')));
      expect(bobs.map((v) => v.id)).not.toContain(id);
    });

    it('pages the list with a cursor, every VPC once, in creation order', async () => {
      const carol = await sdkSignUp(t, 'net-carol');
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        ids.push((await createVpc(carol, `v${i}`, `10.${i}.0.0/16`)).id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: { limit: number; cursor?: string; envelope?: boolean } = cursor
          ? { limit: 2, cursor }
          : { limit: 2, envelope: true };
        const page = unwrap(await carol.sdk.GET('/vpcs', { params: { query } }));
        if (Array.isArray(page)) throw new Error('expected the envelope');
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((v) => v.id));
        cursor = page.page.next_cursor ?? null;
      } while (cursor);
      expect(seen).toEqual(ids);
      // Five VPCs is the default quota: the sixth is refused with nothing appended.
      await refused(
        () => carol.sdk.POST('/vpcs', { body: { name: 'v5', cidr_block: '10.5.0.0/16' } }),
        403,
        'quota_exceeded',
      );
      const bare = unwrap(await carol.sdk.GET('/vpcs', { params: { query: { limit: 200 } } }));
      expect(Array.isArray(bare)).toBe(true);
      await refused(
        () => carol.sdk.GET('/vpcs', { params: { query: { limit: 0 } } }),
        400,
        'validation_error',
      );
      await refused(
        () => carol.sdk.GET('/vpcs', { params: { query: { cursor: '!!' } } }),
        400,
        'validation_error',
      );
    });
  });

  describe('subnets', () => {
    let vpcId: string;

    const createSubnet = (
      account: SdkAccount,
      body: { name: string; cidr_block: string; availability_zone: string },
    ) => account.sdk.POST('/vpcs/{vpcId}/subnets', { ...inVpc(vpcId), body });

    beforeAll(async () => {
      vpcId = (await createVpc(alice, 'subnets', '10.20.0.0/16')).id;
    });

    it('creates a subnet inside the VPC, shown with its gateway and free addresses', async () => {
      const res = await createSubnet(alice, {
        name: 'private-1',
        cidr_block: '10.20.1.0/24',
        availability_zone: 'local-1a',
      });
      expect(res.response.status).toBe(201);
      const subnet = unwrap(res);
      expect(res.response.headers.get('location')).toBe(`/subnets/${subnet.id}`);
      expect(subnet).toMatchObject({
        vpc_id: vpcId,
        name: 'private-1',
        cidr_block: '10.20.1.0/24',
        availability_zone: 'local-1a',
        gateway_ip: '10.20.1.1',
        available_ip_address_count: 251,
        status: 'available',
        arn: `arn:nimbus:vpc:local:${alice.tenantId}:subnet/${subnet.id}`,
      });
      expect(unwrap(await alice.sdk.GET('/subnets/{id}', byId(subnet.id)))).toEqual(subnet);
      const list = itemsOf(unwrap(await alice.sdk.GET('/vpcs/{vpcId}/subnets', inVpc(vpcId))));
      expect(list.map((s) => s.id)).toEqual([subnet.id]);
      await refused(() => bob.sdk.GET('/subnets/{id}', byId(subnet.id)), 404, 'not_found');
      await refused(() => bob.sdk.DELETE('/subnets/{id}', byId(subnet.id)), 404, 'not_found');
    });

    it('refuses a block outside the VPC (400) and one overlapping a sibling (409)', async () => {
      const outside = await refused(
        () =>
          createSubnet(alice, {
            name: 'x',
            cidr_block: '10.21.0.0/24',
            availability_zone: 'local-1a',
          }),
        400,
        'validation_error',
      );
      expect(outside.message).toContain('not inside');
      const overlap = await refused(
        () =>
          createSubnet(alice, {
            name: 'x',
            cidr_block: '10.20.1.128/25',
            availability_zone: 'local-1a',
          }),
        409,
        'conflict',
      );
      expect(overlap.message).toContain('overlaps');
      await refused(
        () =>
          createSubnet(alice, {
            name: 'x',
            cidr_block: '10.20.2.0/24',
            availability_zone: 'Zone A',
          }),
        400,
        'validation_error',
      );
      // No cidr_block: a body the SDK's types refuse.
      await refusedRaw(
        'post',
        `/vpcs/${vpcId}/subnets`,
        { name: 'x', availability_zone: 'local-1a' },
        400,
        'validation_error',
      );
    });

    it('refuses to delete a VPC with subnets (409 dependency_violation naming them), then deletes both', async () => {
      const subnets = itemsOf(unwrap(await alice.sdk.GET('/vpcs/{vpcId}/subnets', inVpc(vpcId))));
      const error = await refused(
        () => alice.sdk.DELETE('/vpcs/{id}', byId(vpcId)),
        409,
        'dependency_violation',
      );
      expect(error.details.dependents).toMatchObject({ subnets: subnets.map((s) => s.id) });
      expect(error.message).toContain(subnets[0].id);
      for (const subnet of subnets) {
        const deleted = await alice.sdk.DELETE('/subnets/{id}', byId(subnet.id));
        expect(deleted.response.status).toBe(204);
      }
      await refused(() => alice.sdk.GET('/subnets/{id}', byId(subnets[0].id)), 404, 'not_found');
      expect((await alice.sdk.DELETE('/vpcs/{id}', byId(vpcId))).response.status).toBe(204);
      await refused(() => alice.sdk.GET('/vpcs/{id}', byId(vpcId)), 404, 'not_found');
      await refused(() => alice.sdk.DELETE('/vpcs/{id}', byId(vpcId)), 404, 'not_found');
      expect(
        await auditedActions(alice.sdk, `vpc/${vpcId}`, [
          'VPC_CREATE:success',
          'VPC_DELETE:success',
        ]),
      ).toEqual(expect.arrayContaining(['VPC_CREATE:success', 'VPC_DELETE:success']));
    });
  });

  describe('security groups', () => {
    let vpcId: string;
    let defaultGroupId: string;
    let groupId: string;

    const groupsOf = (account: SdkAccount, vpc: string) =>
      account.sdk.GET('/security-groups', { params: { query: { vpc_id: vpc } } });

    beforeAll(async () => {
      const vpc = await createVpc(alice, 'groups', '10.30.0.0/16');
      vpcId = vpc.id;
      defaultGroupId = vpc.default_security_group_id;
    });

    it("lists the VPC's default group, which admits its own members", async () => {
      // No vpc_id: the SDK's types require it.
      await refusedRaw('get', '/security-groups', null, 400, 'validation_error');
      await refused(() => groupsOf(bob, vpcId), 404, 'not_found');
      expect(unwrap(await groupsOf(alice, vpcId))).toEqual([
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
      const res = await alice.sdk.POST('/security-groups', {
        body: { vpc_id: vpcId, name: 'web-tier', description: 'Port 80 and 443 allowed' },
      });
      expect(res.response.status).toBe(201);
      const group = unwrap(res);
      groupId = group.id;
      expect(group).toMatchObject({
        vpc_id: vpcId,
        name: 'web-tier',
        is_default: false,
        rules: [],
        arn: `arn:nimbus:vpc:local:${alice.tenantId}:security-group/${groupId}`,
      });
      await refused(
        () => alice.sdk.POST('/security-groups', { body: { vpc_id: vpcId, name: 'web-tier' } }),
        409,
        'conflict',
      );
      await refused(
        () => alice.sdk.POST('/security-groups', { body: { vpc_id: vpcId, name: 'default' } }),
        400,
        'validation_error',
      );
      await refused(
        () => bob.sdk.POST('/security-groups', { body: { vpc_id: vpcId, name: 'x' } }),
        404,
        'not_found',
      );
      await refused(() => bob.sdk.GET('/security-groups/{id}', byId(groupId)), 404, 'not_found');
    });

    it('adds and removes rules; a duplicate is 409, a bad rule 400 naming the field', async () => {
      const rule: Schemas['AddSecurityGroupRuleDto'] = {
        direction: 'ingress',
        protocol: 'tcp',
        port_min: 80,
        port_max: 80,
        cidr: '0.0.0.0/0',
      };
      const addRule = (account: SdkAccount, body: Schemas['AddSecurityGroupRuleDto']) =>
        account.sdk.POST('/security-groups/{id}/rules', { ...byId(groupId), body });
      const res = await addRule(alice, rule);
      expect(res.response.status).toBe(201);
      const { rules } = realized(unwrap(res));
      expect(rules).toEqual([
        expect.objectContaining({ port_min: 80, port_max: 80, priority: 100 }),
      ]);
      await refused(() => addRule(alice, rule), 409, 'conflict');
      for (const [bad, field] of [
        [{ ...rule, port_min: 70000, port_max: 70000 }, 'port_min'],
        [{ ...rule, port_min: 90, port_max: 80 }, 'port_max'],
        [{ ...rule, protocol: 'icmp' }, 'port_min'],
        [{ ...rule, cidr: '10.0.0.1/8' }, 'cidr'],
      ] as const) {
        const error = await refused(() => addRule(alice, bad), 400, 'validation_error');
        expect(JSON.stringify(error.details), JSON.stringify(bad)).toContain(field);
      }
      // Enum values the document does not list: bodies the SDK's types refuse.
      for (const [bad, field] of [
        [{ ...rule, direction: 'sideways' }, 'direction'],
        [{ ...rule, protocol: 'sctp' }, 'protocol'],
      ] as const) {
        const error = await refusedRaw(
          'post',
          `/security-groups/${groupId}/rules`,
          bad,
          400,
          'validation_error',
        );
        expect(JSON.stringify(error.details), JSON.stringify(bad)).toContain(field);
      }
      await refused(() => addRule(bob, { ...rule, port_min: 81, port_max: 81 }), 404, 'not_found');
      const ruleOf = { params: { path: { id: groupId, ruleId: rules[0].id } } };
      expect(
        (await alice.sdk.DELETE('/security-groups/{id}/rules/{ruleId}', ruleOf)).response.status,
      ).toBe(204);
      await refused(
        () => alice.sdk.DELETE('/security-groups/{id}/rules/{ruleId}', ruleOf),
        404,
        'not_found',
      );
      expect(unwrap(await alice.sdk.GET('/security-groups/{id}', byId(groupId))).rules).toEqual([]);
    });

    it('attach needs an instance with a NIC in the VPC (404 otherwise)', async () => {
      await refused(
        () =>
          alice.sdk.POST('/security-groups/attach', {
            body: { instance_id: ZERO_ID, group_id: groupId },
          }),
        404,
        'not_found',
      );
      await refused(
        () =>
          alice.sdk.POST('/security-groups/attach', {
            body: { instance_id: 'x', group_id: groupId },
          }),
        400,
        'validation_error',
      );
    });

    it('refuses to delete the default group (409) and a VPC whose groups remain; deletes a group', async () => {
      await refused(
        () => alice.sdk.DELETE('/security-groups/{id}', byId(defaultGroupId)),
        409,
        'invalid_state',
      );
      const error = await refused(
        () => alice.sdk.DELETE('/vpcs/{id}', byId(vpcId)),
        409,
        'dependency_violation',
      );
      expect(error.details.dependents).toMatchObject({ security_groups: [groupId] });
      expect((await alice.sdk.DELETE('/security-groups/{id}', byId(groupId))).response.status).toBe(
        204,
      );
      await refused(() => alice.sdk.GET('/security-groups/{id}', byId(groupId)), 404, 'not_found');
      expect((await alice.sdk.DELETE('/vpcs/{id}', byId(vpcId))).response.status).toBe(204);
      await refused(
        () => alice.sdk.GET('/security-groups/{id}', byId(defaultGroupId)),
        404,
        'not_found',
      );
    });
  });

  describe('route tables', () => {
    let vpcId: string;
    let mainId: string;
    let tableId: string;
    let subnetId: string;

    const tablesOf = (account: SdkAccount, vpc: string) =>
      account.sdk.GET('/route-tables', { params: { query: { vpc_id: vpc } } });
    const routeOf = (routeId: string) => ({
      params: { path: { id: tableId }, query: { route_id: routeId } },
    });

    beforeAll(async () => {
      const vpc = await createVpc(alice, 'routes', '10.40.0.0/16');
      vpcId = vpc.id;
      mainId = vpc.main_route_table_id;
      const subnet = unwrap(
        await alice.sdk.POST('/vpcs/{vpcId}/subnets', {
          ...inVpc(vpcId),
          body: { name: 'a', cidr_block: '10.40.1.0/24', availability_zone: 'local-1a' },
        }),
      );
      subnetId = subnet.id;
    });

    it("lists the VPC's main table with its local route", async () => {
      await refusedRaw('get', '/route-tables', null, 400, 'validation_error');
      await refused(() => tablesOf(bob, vpcId), 404, 'not_found');
      expect(unwrap(await tablesOf(alice, vpcId))).toEqual([
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
      const res = await alice.sdk.POST('/route-tables', {
        body: { vpc_id: vpcId, name: 'custom-rt' },
      });
      expect(res.response.status).toBe(201);
      const table = unwrap(res);
      tableId = table.id;
      expect(table).toMatchObject({
        is_main: false,
        arn: `arn:nimbus:vpc:local:${alice.tenantId}:route-table/${tableId}`,
      });
      await refused(
        () =>
          alice.sdk.POST('/route-tables', { body: { vpc_id: vpcId, name: 'm', is_main: true } }),
        409,
        'conflict',
      );
      await refused(() => bob.sdk.GET('/route-tables/{id}', byId(tableId)), 404, 'not_found');
    });

    it('routes to an attached internet gateway; targets outside the VPC are 404', async () => {
      const addRoute = (body: Schemas['AddRouteDto']) =>
        alice.sdk.POST('/route-tables/{id}/routes', { ...byId(tableId), body });
      await refused(
        () => addRoute({ destination_cidr: '0.0.0.0/0', target_type: 'igw', target_id: ZERO_ID }),
        404,
        'not_found',
      );
      // `local` is not a target a route may name (the document does not list it).
      await refusedRaw(
        'post',
        `/route-tables/${tableId}/routes`,
        { destination_cidr: '0.0.0.0/0', target_type: 'local', target_id: ZERO_ID },
        400,
        'validation_error',
      );
      await refused(
        () => addRoute({ destination_cidr: '0.0.0.1/0', target_type: 'igw', target_id: ZERO_ID }),
        400,
        'validation_error',
      );
      const igwCreated = await alice.sdk.POST('/internet-gateways');
      expect(igwCreated.response.status).toBe(201);
      const igw = unwrap(igwCreated);
      unwrap(
        await alice.sdk.POST('/internet-gateways/{id}/attach', {
          ...byId(igw.id),
          body: { vpc_id: vpcId },
        }),
      );
      const route = {
        destination_cidr: '0.0.0.0/0',
        target_type: 'igw' as const,
        target_id: igw.id,
      };
      const res = await addRoute(route);
      expect(res.response.status).toBe(201);
      const added = realized(unwrap(res)).routes.find((r) => r.target_type === 'igw');
      expect(added).toMatchObject(route);
      await refused(() => addRoute(route), 409, 'conflict');
      // No route_id: the SDK's types require it.
      await refusedRaw('delete', `/route-tables/${tableId}/routes`, null, 400, 'validation_error');
      const routeId = added?.id as string;
      expect(
        (await alice.sdk.DELETE('/route-tables/{id}/routes', routeOf(routeId))).response.status,
      ).toBe(204);
      await refused(
        () => alice.sdk.DELETE('/route-tables/{id}/routes', routeOf(routeId)),
        404,
        'not_found',
      );
      unwrap(await alice.sdk.POST('/internet-gateways/{id}/detach', byId(igw.id)));
    });

    it('associates a subnet, refuses deletes while associated, disassociates', async () => {
      const subnet = { body: { subnet_id: subnetId } };
      const associated = realized(
        unwrap(
          await alice.sdk.POST('/route-tables/{id}/associate', { ...byId(tableId), ...subnet }),
        ),
      );
      expect(associated.subnet_ids).toEqual([subnetId]);
      const other = unwrap(
        await alice.sdk.POST('/route-tables', { body: { vpc_id: vpcId, name: 'other' } }),
      );
      await refused(
        () => alice.sdk.POST('/route-tables/{id}/associate', { ...byId(other.id), ...subnet }),
        409,
        'conflict',
      );
      expect((await alice.sdk.DELETE('/route-tables/{id}', byId(other.id))).response.status).toBe(
        204,
      );
      const error = await refused(
        () => alice.sdk.DELETE('/route-tables/{id}', byId(tableId)),
        409,
        'dependency_violation',
      );
      expect(error.details.dependents).toEqual({ subnets: [subnetId] });
      await refused(
        () => alice.sdk.DELETE('/route-tables/{id}', byId(mainId)),
        409,
        'invalid_state',
      );
      const back = realized(
        unwrap(
          await alice.sdk.POST('/route-tables/{id}/disassociate', { ...byId(tableId), ...subnet }),
        ),
      );
      expect(back.subnet_ids).toEqual([]);
      expect((await alice.sdk.DELETE('/route-tables/{id}', byId(tableId))).response.status).toBe(
        204,
      );
      await refused(() => alice.sdk.GET('/route-tables/{id}', byId(tableId)), 404, 'not_found');
      const actions = ['ROUTE_TABLE_CREATE', 'ROUTE_TABLE_ASSOCIATE', 'ROUTE_TABLE_DELETE'].map(
        (a) => `${a}:success`,
      );
      expect(await auditedActions(alice.sdk, `route_table/${tableId}`, actions)).toEqual(
        expect.arrayContaining(actions),
      );
    });
  });
});
