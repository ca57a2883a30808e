import { describe, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import { claimDecider, emailClaimId, tenantSlugClaimId, type ClaimEvent } from './claim';

const now = new Date('2026-03-01T00:00:00.000Z');
const email = emailClaimId('abc123');
const claimed = (claimId: string, ownerId: string): ClaimEvent => ({
  type: 'ValueClaimed',
  data: { claimId, ownerId, at: now.toISOString() },
});

describe('uniqueness claims', () => {
  it('the first claim wins', () => {
    spec(claimDecider)
      .given([])
      .when({ type: 'ClaimValue', claimId: email, ownerId: 'u1', now })
      .then([claimed(email, 'u1')]);
  });

  it('a second owner gets email_taken for emails and conflict for slugs', () => {
    spec(claimDecider)
      .given([claimed(email, 'u1')])
      .when({ type: 'ClaimValue', claimId: email, ownerId: 'u2', now })
      .thenThrows('email_taken');
    const slug = tenantSlugClaimId('acme');
    spec(claimDecider)
      .given([claimed(slug, 't1')])
      .when({ type: 'ClaimValue', claimId: slug, ownerId: 't2', now })
      .thenThrows('conflict', /tenant-slug acme is already taken/);
  });

  it('claiming again for the same owner is a no-op (retries)', () => {
    spec(claimDecider)
      .given([claimed(email, 'u1')])
      .when({ type: 'ClaimValue', claimId: email, ownerId: 'u1', now })
      .then([]);
  });

  it('the owner releases; anyone else releasing changes nothing; a released value can be claimed again', () => {
    spec(claimDecider)
      .given([claimed(email, 'u1')])
      .when({ type: 'ReleaseValue', claimId: email, ownerId: 'u1', now })
      .then([
        { type: 'ValueReleased', data: { claimId: email, ownerId: 'u1', at: now.toISOString() } },
      ]);
    spec(claimDecider)
      .given([claimed(email, 'u1')])
      .when({ type: 'ReleaseValue', claimId: email, ownerId: 'u2', now })
      .then([]);
    spec(claimDecider)
      .given([
        claimed(email, 'u1'),
        { type: 'ValueReleased', data: { claimId: email, ownerId: 'u1', at: now.toISOString() } },
      ])
      .when({ type: 'ClaimValue', claimId: email, ownerId: 'u2', now })
      .then([claimed(email, 'u2')]);
  });
});
