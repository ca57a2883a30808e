/**
 * The public address pool (stream `public-address-pool-external`): which addresses of the
 * external network (NIMBUS_EIP_POOL, default `100.64.0.0/10`) are held, and by whom. Elastic IPs
 * and the gateway ports of attached internet gateways take their address here.
 *
 * One stream for the whole pool: two allocations racing for one address conflict on append and
 * the loser decides again on the new state, so an address is never handed out twice, without
 * locks and across processes.
 *
 * - The network address, the first address (the upstream router, the next hop of default routes)
 *   and the broadcast address are never handed out.
 * - Reserving for a holder that already holds an address returns nothing new (a retried request
 *   keeps its address); releasing an address not held is a no-op.
 * - A full pool is 409 `conflict` with `reason: pool_exhausted`.
 */
import ipaddr from 'ipaddr.js';

import { AppError } from '../../common/errors/app-error';
import { assertUnreachable } from '../../common/errors/error-codes';
import type { Decider } from '../../kernel/decider';
import { addressAt, blockSize, cidrOf } from './cidr';

export const PUBLIC_ADDRESS_POOL_CATEGORY = 'public-address-pool';
/** The id of the one pool (its stream is `public-address-pool-external`). */
export const EXTERNAL_POOL_ID = 'external';
export const DEFAULT_EIP_POOL = '100.64.0.0/10';
/** Addresses at the start of the pool never handed out: the network address and the upstream. */
export const POOL_RESERVED_AT_START = 2;

export type AddressHolderKind = 'elastic_ip' | 'internet_gateway';

export interface AddressHolder {
  kind: AddressHolderKind;
  id: string;
}

export interface ReservePublicAddress {
  type: 'ReservePublicAddress';
  holder: AddressHolder;
  /** The pool's block as configured now. */
  poolCidr: string;
  now: Date;
}

export interface ReleasePublicAddress {
  type: 'ReleasePublicAddress';
  holder: AddressHolder;
  now: Date;
}

export type PublicAddressPoolCommand = ReservePublicAddress | ReleasePublicAddress;

export type PublicAddressPoolEvent =
  | { type: 'PublicAddressReserved'; data: { address: string; holder: AddressHolder; at: string } }
  | { type: 'PublicAddressReleased'; data: { address: string; holder: AddressHolder; at: string } };

export interface PublicAddressPoolState {
  /** address -> holder */
  held: Readonly<Record<string, AddressHolder>>;
}

export function initialPublicAddressPoolState(): PublicAddressPoolState {
  return { held: {} };
}

export function evolvePublicAddressPool(
  state: PublicAddressPoolState,
  event: PublicAddressPoolEvent,
): PublicAddressPoolState {
  switch (event.type) {
    case 'PublicAddressReserved':
      return { held: { ...state.held, [event.data.address]: event.data.holder } };
    case 'PublicAddressReleased': {
      const { [event.data.address]: _gone, ...rest } = state.held;
      return { held: rest };
    }
    default:
      return state;
  }
}

const sameHolder = (a: AddressHolder, b: AddressHolder) => a.kind === b.kind && a.id === b.id;

/** The address the holder has in the pool, or null. */
export function addressOf(state: PublicAddressPoolState, holder: AddressHolder): string | null {
  const found = Object.entries(state.held).find(([, h]) => sameHolder(h, holder));
  return found ? found[0] : null;
}

/** The upstream router of the external network: its first address after the network address. */
export function upstreamAddress(poolCidr: string): string {
  return addressAt(cidrOf(poolCidr), 1);
}

/** The lowest address of the pool that may be handed out and is not held, or null. */
export function firstFreePublicAddress(
  poolCidr: string,
  held: Readonly<Record<string, AddressHolder>>,
): string | null {
  const cidr = cidrOf(poolCidr);
  const broadcast = ipaddr.IPv4.broadcastAddressFromCIDR(cidr.text).toString();
  const size = blockSize(cidr);
  for (let offset = POOL_RESERVED_AT_START; offset < size; offset += 1) {
    const candidate = addressAt(cidr, offset);
    if (candidate === broadcast) return null;
    if (!(candidate in held)) return candidate;
  }
  return null;
}

export function decidePublicAddressPool(
  command: PublicAddressPoolCommand,
  state: PublicAddressPoolState,
): PublicAddressPoolEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'ReservePublicAddress': {
      if (addressOf(state, command.holder) !== null) return [];
      const address = firstFreePublicAddress(command.poolCidr, state.held);
      if (address === null) {
        throw new AppError(
          'conflict',
          `the public address pool ${command.poolCidr} has no free address`,
          { resource: 'public_address_pool', reason: 'pool_exhausted' },
        );
      }
      return [{ type: 'PublicAddressReserved', data: { address, holder: command.holder, at } }];
    }
    case 'ReleasePublicAddress': {
      const address = addressOf(state, command.holder);
      if (address === null) return [];
      return [{ type: 'PublicAddressReleased', data: { address, holder: command.holder, at } }];
    }
    default:
      return assertUnreachable(command);
  }
}

export const publicAddressPoolDecider: Decider<
  PublicAddressPoolCommand,
  PublicAddressPoolEvent,
  PublicAddressPoolState
> = {
  category: PUBLIC_ADDRESS_POOL_CATEGORY,
  initialState: initialPublicAddressPoolState,
  evolve: evolvePublicAddressPool,
  decide: decidePublicAddressPool,
};
