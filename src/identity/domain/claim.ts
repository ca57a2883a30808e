/**
 * Uniqueness claims (stream `claim-<claimId>`): a tiny aggregate that makes "only one user per
 * email" and "only one tenant per slug" hold under concurrent requests, which a read-model check
 * alone cannot (two registrations can both see "free" before either is projected).
 *
 * The handler claims before creating the owner: `ClaimValue {ownerId}` on `claim-email:<hash>`
 * (crypto emailLookupHash) or `claim-tenant-slug:<slug>`. Both claims of the same value race on one
 * stream, so exactly one wins; the loser gets 409 (`email_taken` for emails, `conflict` otherwise).
 * Claiming again for the same owner is a no-op, so a retried registration goes through. Erasing a
 * user releases the email claim, so the address can register again.
 *
 * If the owner's creation then fails, the claim stays held by an owner that does not exist; the
 * handler releases it (or retries the creation with the same ids).
 */
import { AppError } from '../../common/errors/app-error';
import type { Decider } from '../../kernel/decider';
import { iso } from './validation';

export const CLAIM_CATEGORY = 'claim';

export function emailClaimId(emailLookupHash: string): string {
  return `email:${emailLookupHash}`;
}

export function tenantSlugClaimId(slug: string): string {
  return `tenant-slug:${slug}`;
}

/** A policy name is unique within its tenant. */
export function policyNameClaimId(tenantId: string, name: string): string {
  return `policy-name:${tenantId}/${name}`;
}

export type ClaimCommand =
  | { type: 'ClaimValue'; claimId: string; ownerId: string; now: Date }
  | { type: 'ReleaseValue'; claimId: string; ownerId: string; now: Date };

export type ClaimEvent =
  | { type: 'ValueClaimed'; data: { claimId: string; ownerId: string; at: string } }
  | { type: 'ValueReleased'; data: { claimId: string; ownerId: string; at: string } };

export interface ClaimState {
  ownerId: string | null;
}

function takenError(claimId: string): AppError {
  if (claimId.startsWith('email:'))
    return new AppError('email_taken', 'an account with this email already exists');
  const [kind, ...rest] = claimId.split(':');
  return new AppError('conflict', `${kind} ${rest.join(':')} is already taken`, {
    field: kind,
    value: rest.join(':'),
  });
}

export const claimDecider: Decider<ClaimCommand, ClaimEvent, ClaimState> = {
  category: CLAIM_CATEGORY,
  initialState: () => ({ ownerId: null }),
  evolve(state, event) {
    switch (event.type) {
      case 'ValueClaimed':
        return { ownerId: event.data.ownerId };
      case 'ValueReleased':
        return { ownerId: null };
      default:
        return state;
    }
  },
  decide(command, state) {
    const at = iso(command.now);
    switch (command.type) {
      case 'ClaimValue':
        if (state.ownerId === command.ownerId) return [];
        if (state.ownerId !== null) throw takenError(command.claimId);
        return [
          {
            type: 'ValueClaimed',
            data: { claimId: command.claimId, ownerId: command.ownerId, at },
          },
        ];
      case 'ReleaseValue':
        if (state.ownerId !== command.ownerId) return [];
        return [
          {
            type: 'ValueReleased',
            data: { claimId: command.claimId, ownerId: command.ownerId, at },
          },
        ];
      default: {
        const unknown: never = command;
        throw new Error(`unknown claim command ${JSON.stringify(unknown)}`);
      }
    }
  },
};
