import type { AppConfig } from '../../config/config';
import { ConfigError } from '../../config/config';
import { parseCidr, upstreamAddress } from '../domain';

/** Settings of the networking context (environment variables, read once at start-up). */
export interface NetworkOptions {
  /** NIMBUS_EIP_POOL: the external network; elastic IPs and gateway ports take addresses in it. */
  eipPool: string;
  /** Its prefix length (the gateway ports' netmask). */
  externalPrefixLength: number;
  /** Its first address: the upstream router, next hop of routes through an internet gateway. */
  upstream: string;
  /** NIMBUS_PEERING_EXPIRY: how long a peering request waits for acceptance. */
  peeringExpiryMs: number;
}

/** The networking settings out of the validated configuration; a pool that is not a network address stops start-up. */
export function networkOptionsFrom(config: AppConfig): NetworkOptions {
  const parsed = parseCidr(config.eipPool);
  if (!parsed.ok) throw new ConfigError([`NIMBUS_EIP_POOL is not allowed: ${parsed.problem}`]);
  return {
    eipPool: parsed.cidr.text,
    externalPrefixLength: parsed.cidr.prefixLength,
    upstream: upstreamAddress(parsed.cidr.text),
    peeringExpiryMs: config.peeringExpiryMs,
  };
}

export const NETWORK_OPTIONS = Symbol('NETWORK_OPTIONS');
