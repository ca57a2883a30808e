import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import {
  assertMayUseTenant,
  isValidSlug,
  roleInTenant,
  tenantDecider,
  type TenantCommand,
  type TenantEvent,
  type TenantRole,
} from './tenant';

const tenantId = 't-1';
const now = new Date('2026-04-01T00:00:00.000Z');
const iso = now.toISOString();

const created: TenantEvent = {
  type: 'TenantCreated',
  data: { tenantId, name: 'Acme Corp', slug: 'acme', ownerId: 'alice', createdAt: iso },
};
const member = (userId: string, role: TenantRole): TenantEvent => ({
  type: 'TenantMemberAdded',
  data: { tenantId, userId, role, at: iso },
});
const tenant = [
  created,
  member('alice', 'owner'),
  member('bob', 'admin'),
  member('carol', 'member'),
];

describe('tenant: CreateTenant', () => {
  it('creates the tenant and makes the creator its owner', () => {
    spec(tenantDecider)
      .given([])
      .when({
        type: 'CreateTenant',
        tenantId,
        name: ' Acme Corp ',
        slug: 'acme',
        ownerId: 'alice',
        now,
      })
      .then([created, member('alice', 'owner')]);
  });

  it('rejects an existing tenant id', () => {
    spec(tenantDecider)
      .given([created])
      .when({ type: 'CreateTenant', tenantId, name: 'Acme', slug: 'acme', ownerId: 'alice', now })
      .thenThrows('conflict');
  });

  it('rejects a bad slug with the rule', () => {
    spec(tenantDecider)
      .given([])
      .when({ type: 'CreateTenant', tenantId, name: 'Acme', slug: 'Acme!', ownerId: 'alice', now })
      .thenThrows('validation_error', /slug.*3 to 63 characters/);
  });

  it.each([
    ['acme', true],
    ['a1b', true],
    ['acme-corp-2', true],
    ['a--b', true],
    ['x'.repeat(63), true],
    ['ab', false],
    ['x'.repeat(64), false],
    ['-acme', false],
    ['acme-', false],
    ['Acme', false],
    ['acme_corp', false],
    ['acme corp', false],
    ['acmé', false],
    ['', false],
  ])('slug %j valid: %s', (slug, valid) => {
    expect(isValidSlug(slug)).toBe(valid);
  });
});

describe('tenant: members', () => {
  const add = (
    userId: string,
    role: TenantRole,
    actorUserId: string | null = 'alice',
  ): TenantCommand => ({
    type: 'AddTenantMember',
    userId,
    role,
    actorUserId,
    now,
  });
  const change = (
    userId: string,
    role: TenantRole,
    actorUserId: string | null = 'alice',
  ): TenantCommand => ({
    type: 'ChangeTenantMemberRole',
    userId,
    role,
    actorUserId,
    now,
  });
  const remove = (userId: string, actorUserId: string | null = 'alice'): TenantCommand => ({
    type: 'RemoveTenantMember',
    userId,
    actorUserId,
    now,
  });

  it('adds a member', () => {
    spec(tenantDecider)
      .given(tenant)
      .when(add('dave', 'viewer', 'bob'))
      .then([member('dave', 'viewer')]);
  });

  it('rejects an existing member, an invalid role and an unknown tenant', () => {
    spec(tenantDecider).given(tenant).when(add('carol', 'viewer')).thenThrows('conflict');
    spec(tenantDecider)
      .given(tenant)
      .when(add('dave', 'superuser' as TenantRole))
      .thenThrows('validation_error', /role/);
    spec(tenantDecider).given([]).when(add('dave', 'member')).thenThrows('not_found');
  });

  it('only an owner may grant the owner role', () => {
    spec(tenantDecider)
      .given(tenant)
      .when(add('dave', 'owner', 'bob'))
      .thenThrows('forbidden');
    spec(tenantDecider)
      .given(tenant)
      .when(add('dave', 'owner', 'alice'))
      .then([member('dave', 'owner')]);
    spec(tenantDecider)
      .given(tenant)
      .when(change('bob', 'owner', 'bob'))
      .thenThrows('forbidden');
  });

  it('changes a role; the same role is a no-op', () => {
    spec(tenantDecider)
      .given(tenant)
      .when(change('carol', 'viewer', 'bob'))
      .then([
        {
          type: 'TenantMemberRoleChanged',
          data: { tenantId, userId: 'carol', from: 'member', to: 'viewer', at: iso },
        },
      ]);
    spec(tenantDecider).given(tenant).when(change('carol', 'member')).then([]);
    spec(tenantDecider).given(tenant).when(change('zed', 'member')).thenThrows('not_found');
  });

  it('the last owner can be neither demoted nor removed', () => {
    spec(tenantDecider)
      .given(tenant)
      .when(change('alice', 'admin'))
      .thenThrows('invalid_state', /last owner/);
    spec(tenantDecider)
      .given(tenant)
      .when(remove('alice'))
      .thenThrows('invalid_state', /last owner/);
    spec(tenantDecider).given(tenant).when(remove('alice', null)).thenThrows('invalid_state');
  });

  it('with a second owner, an owner can step down or leave', () => {
    const twoOwners = [...tenant, member('dave', 'owner')];
    spec(tenantDecider)
      .given(twoOwners)
      .when(change('alice', 'admin', 'dave'))
      .thenState((state) => expect(state.members.alice).toBe('admin'));
    spec(tenantDecider)
      .given(twoOwners)
      .when(remove('alice', 'alice'))
      .then([
        {
          type: 'TenantMemberRemoved',
          data: { tenantId, userId: 'alice', role: 'owner', at: iso },
        },
      ]);
  });

  it('an admin cannot remove an owner but can remove a member', () => {
    const twoOwners = [...tenant, member('dave', 'owner')];
    spec(tenantDecider).given(twoOwners).when(remove('dave', 'bob')).thenThrows('forbidden');
    spec(tenantDecider)
      .given(tenant)
      .when(remove('carol', 'bob'))
      .thenState((state) => expect(state.members.carol).toBeUndefined());
    spec(tenantDecider).given(tenant).when(remove('zed')).thenThrows('not_found');
  });
});

describe('tenant: membership helpers', () => {
  const memberships = [
    { tenantId: 't-1', role: 'owner' as const },
    { tenantId: 't-2', role: 'viewer' as const },
  ];

  it('finds the role or says not_found', () => {
    expect(roleInTenant(memberships, 't-2')).toBe('viewer');
    expect(roleInTenant(memberships, 't-3')).toBeNull();
    expect(assertMayUseTenant(memberships, 't-1')).toBe('owner');
    expect(() => assertMayUseTenant(memberships, 't-3')).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  });
});
