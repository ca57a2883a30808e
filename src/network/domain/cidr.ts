/**
 * IPv4 CIDR rules of the networking context, on `ipaddr.js` (parsing, containment, network and
 * broadcast addresses). Pure: no I/O.
 *
 * - A VPC's block is a private (RFC 1918) network with a prefix from /16 to /28, written as its
 *   network address (`10.0.0.0/16`, not `10.0.0.7/16`); the default is `10.0.0.0/16`. Private
 *   only, so that a VPC never shadows the external network its gateways reach (elastic IPs come
 *   from `100.64.0.0/10`) or anything on the host.
 * - A subnet's block is inside its VPC's, with a prefix from /16 to /28, and overlaps no sibling.
 * - Two peered VPCs' blocks do not overlap.
 * - In a subnet the first four addresses (network, router, DNS, reserved) and the last
 *   (broadcast) are never given to a NIC, as in AWS: a /28 offers 11 addresses.
 */
import ipaddr from 'ipaddr.js';

export const DEFAULT_VPC_CIDR = '10.0.0.0/16';
export const MIN_PREFIX_LENGTH = 16;
export const MAX_PREFIX_LENGTH = 28;
/** Addresses reserved at the start of every subnet (network, router, DNS, future use). */
export const RESERVED_AT_START = 4;

export interface Cidr {
  /** The canonical text, `a.b.c.d/n`. */
  readonly text: string;
  readonly network: ipaddr.IPv4;
  readonly prefixLength: number;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; problem: string };

/** Parses `a.b.c.d/n` written as its network address. */
export function parseCidr(text: unknown): CidrParse {
  if (typeof text !== 'string') return { ok: false, problem: 'must be a string' };
  if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) {
    return { ok: false, problem: `"${text}" is not an IPv4 CIDR block such as 10.0.0.0/16` };
  }
  const [address, prefixLength] = ipaddr.IPv4.parseCIDR(text);
  const network = ipaddr.IPv4.networkAddressFromCIDR(text);
  if (address.toString() !== network.toString()) {
    return {
      ok: false,
      problem: `"${text}" is not a network address: the block is ${network.toString()}/${prefixLength}`,
    };
  }
  return {
    ok: true,
    cidr: { text: `${network.toString()}/${prefixLength}`, network, prefixLength },
  };
}

/** Parses a CIDR the domain already validated; throws on anything else (a programming error). */
export function cidrOf(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.cidr;
}

function prefixProblem(cidr: Cidr): string | null {
  if (cidr.prefixLength < MIN_PREFIX_LENGTH || cidr.prefixLength > MAX_PREFIX_LENGTH) {
    return `prefix /${cidr.prefixLength} is outside /${MIN_PREFIX_LENGTH} to /${MAX_PREFIX_LENGTH}`;
  }
  return null;
}

/** What is wrong with a VPC block, or null. */
export function vpcCidrProblem(text: unknown): string | null {
  const parsed = parseCidr(text);
  if (!parsed.ok) return parsed.problem;
  const prefix = prefixProblem(parsed.cidr);
  if (prefix) return prefix;
  if (parsed.cidr.network.range() !== 'private') {
    return `${parsed.cidr.text} is not a private network (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)`;
  }
  return null;
}

/** Whether `inner` lies entirely within `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  return (
    inner.prefixLength >= outer.prefixLength &&
    inner.network.match(outer.network, outer.prefixLength)
  );
}

/** Whether two blocks share any address (one then contains the other). */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b) || contains(b, a);
}

/** What is wrong with a subnet block in a VPC's block, or null (400 validation). */
export function subnetCidrProblem(text: unknown, vpcCidr: string): string | null {
  const parsed = parseCidr(text);
  if (!parsed.ok) return parsed.problem;
  const prefix = prefixProblem(parsed.cidr);
  if (prefix) return prefix;
  if (!contains(cidrOf(vpcCidr), parsed.cidr)) {
    return `${parsed.cidr.text} is not inside the VPC's block ${vpcCidr}`;
  }
  return null;
}

/** The siblings a subnet block overlaps (409 conflict when any). */
export function overlappingSiblings<T extends { cidrBlock: string }>(
  cidrBlock: string,
  siblings: readonly T[],
): T[] {
  const cidr = cidrOf(cidrBlock);
  return siblings.filter((sibling) => overlaps(cidr, cidrOf(sibling.cidrBlock)));
}

/** Whether two VPCs may be peered: their blocks must not overlap. */
export function peeringCidrProblem(requesterCidr: string, accepterCidr: string): string | null {
  return overlaps(cidrOf(requesterCidr), cidrOf(accepterCidr))
    ? `the VPCs' blocks ${requesterCidr} and ${accepterCidr} overlap; peered VPCs need distinct addresses`
    : null;
}

// ---------------------------------------------------------------- addresses in a subnet

/** Number of addresses in the block. */
export function blockSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefixLength);
}

function toNumber(address: ipaddr.IPv4): number {
  return address.toByteArray().reduce((value, byte) => value * 256 + byte, 0);
}

function fromNumber(value: number): ipaddr.IPv4 {
  const bytes = [0, 0, 0, 0];
  let rest = value;
  for (let i = 3; i >= 0; i -= 1) {
    bytes[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return new ipaddr.IPv4(bytes);
}

/** The address `offset` places after the network address. */
export function addressAt(cidr: Cidr, offset: number): string {
  if (!Number.isInteger(offset) || offset < 0 || offset >= blockSize(cidr)) {
    throw new Error(`offset ${offset} is outside ${cidr.text}`);
  }
  return fromNumber(toNumber(cidr.network) + offset).toString();
}

/** The router's address on a subnet: the first after the network address. */
export function gatewayAddress(cidrBlock: string): string {
  return addressAt(cidrOf(cidrBlock), 1);
}

/** How many addresses a subnet can give to NICs. */
export function usableAddressCount(cidrBlock: string): number {
  return blockSize(cidrOf(cidrBlock)) - RESERVED_AT_START - 1;
}

/** Why `ip` cannot be given to a NIC in the subnet, or null. Taken addresses are not checked. */
export function assignableAddressProblem(cidrBlock: string, ip: unknown): string | null {
  if (typeof ip !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(ip)) {
    return `"${String(ip)}" is not an IPv4 address`;
  }
  const cidr = cidrOf(cidrBlock);
  const address = ipaddr.IPv4.parse(ip);
  if (!address.match(cidr.network, cidr.prefixLength)) return `${ip} is not in ${cidrBlock}`;
  const offset = toNumber(address) - toNumber(cidr.network);
  if (offset < RESERVED_AT_START) {
    return `${ip} is one of the first ${RESERVED_AT_START} addresses of ${cidrBlock}, which are reserved`;
  }
  if (ip === ipaddr.IPv4.broadcastAddressFromCIDR(cidrBlock).toString()) {
    return `${ip} is the broadcast address of ${cidrBlock}, which is reserved`;
  }
  return null;
}

/** The lowest assignable address not in `taken`, or null when the subnet is full. */
export function firstFreeAddress(cidrBlock: string, taken: ReadonlySet<string>): string | null {
  const cidr = cidrOf(cidrBlock);
  const last = blockSize(cidr) - 2;
  for (let offset = RESERVED_AT_START; offset <= last; offset += 1) {
    const candidate = addressAt(cidr, offset);
    if (!taken.has(candidate)) return candidate;
  }
  return null;
}
