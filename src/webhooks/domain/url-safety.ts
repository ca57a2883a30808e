/**
 * Which webhook targets Nimbus may call (server-side request forgery guard). Pure: the caller
 * resolves the host name and passes every address it got; this module decides.
 *
 * Refused unless the operator sets `allowPrivateTargets` (tests do, to reach a receiver on
 * loopback): private (10/8, 172.16/12, 192.168/16), loopback (127/8, ::1), link-local
 * (169.254/16, fe80::/10), unique-local (fc00::/7), CGNAT (100.64/10), unspecified (0/8, ::),
 * multicast (224/4, ff00::/8), broadcast, and reserved or documentation ranges (192.0.0/24,
 * 192.0.2/24, 198.18/15, 198.51.100/24, 203.0.113/24, 240/4, 2001:db8::/32, 100::/64, Teredo
 * 2001::/32, site-local fec0::/10, and anything outside global unicast 2000::/3).
 * IPv6 forms that embed an IPv4 address are judged by that address: IPv4-mapped
 * (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
 *
 * A host resolving to several addresses is refused if any one is refused. The dispatcher must
 * connect to one of the addresses it checked (pin the lookup) rather than resolving again, or a
 * DNS answer that changes between check and connect (rebinding) would bypass the check.
 */

import ipaddr from 'ipaddr.js';

export type AddressClass =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link_local'
  | 'unique_local'
  | 'cgnat'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'invalid';

export interface ParsedIp {
  version: 4 | 6;
  /** 32 or 128 bits. */
  value: bigint;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Parses an IP literal with ipaddr.js: strict dotted-quad IPv4 (no octal, hexadecimal or short
 * forms, which ipaddr.js would otherwise accept) or IPv6 (brackets and a zone allowed).
 */
function parseAddress(text: string): Address | null {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (ipaddr.IPv4.isValidFourPartDecimal(t)) return ipaddr.IPv4.parse(t);
  if (!t.includes(':')) return null;
  // ipaddr.js reads `::a.b.c.d` (IPv4-compatible, deprecated) as `::ffff:a.b.c.d` (mapped): write
  // a dotted tail as its two hex groups first, so every form means what the RFCs say.
  const tail = /:(\d+\.\d+\.\d+\.\d+)(%.*)?$/.exec(t);
  if (tail) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(tail[1])) return null;
    const [a, b, c, d] = ipaddr.IPv4.parse(tail[1]).octets;
    const groups = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    t = `${t.slice(0, tail.index + 1)}${groups}${tail[2] ?? ''}`;
  }
  if (!ipaddr.IPv6.isValid(t)) return null;
  return ipaddr.IPv6.parse(t);
}

/** Parses an IP literal: dotted-quad IPv4 (no octal or short forms) or IPv6 (brackets and zone ok). */
export function parseIp(text: string): ParsedIp | null {
  const address = parseAddress(text);
  if (!address) return null;
  const value = address.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  return { version: address.kind() === 'ipv4' ? 4 : 6, value };
}

// Order matters: the first match wins (the broadcast address before 240/4).
const IPV4_RANGES: ReadonlyArray<[[ipaddr.IPv4, number], AddressClass]> = (
  [
    ['0.0.0.0/8', 'unspecified'],
    ['10.0.0.0/8', 'private'],
    ['100.64.0.0/10', 'cgnat'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link_local'],
    ['172.16.0.0/12', 'private'],
    ['192.0.0.0/24', 'reserved'],
    ['192.0.2.0/24', 'reserved'],
    ['192.88.99.0/24', 'reserved'],
    ['192.168.0.0/16', 'private'],
    ['198.18.0.0/15', 'reserved'],
    ['198.51.100.0/24', 'reserved'],
    ['203.0.113.0/24', 'reserved'],
    ['224.0.0.0/4', 'multicast'],
    ['255.255.255.255/32', 'broadcast'],
    ['240.0.0.0/4', 'reserved'],
  ] as const
).map(([cidr, cls]) => [ipaddr.IPv4.parseCIDR(cidr), cls]);

const IPV6_RANGES: ReadonlyArray<[[ipaddr.IPv6, number], AddressClass]> = (
  [
    ['::/128', 'unspecified'],
    ['::1/128', 'loopback'],
    ['100::/64', 'reserved'],
    ['2001:db8::/32', 'reserved'],
    ['2001::/32', 'reserved'],
    ['fc00::/7', 'unique_local'],
    ['fe80::/10', 'link_local'],
    ['fec0::/10', 'reserved'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([cidr, cls]) => [ipaddr.IPv6.parseCIDR(cidr), cls]);

const NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR('2002::/16');
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/** The IPv4 address held in two 16-bit IPv6 groups. */
function ipv4Of(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyIpv4(address: ipaddr.IPv4): AddressClass {
  for (const [range, cls] of IPV4_RANGES) if (address.match(range)) return cls;
  return 'public';
}

function classifyIpv6(address: ipaddr.IPv6): AddressClass {
  if (address.isIPv4MappedAddress()) return classifyIpv4(address.toIPv4Address());
  if (address.match(NAT64)) return classifyIpv4(ipv4Of(address.parts[6], address.parts[7]));
  if (address.match(SIX_TO_FOUR)) return classifyIpv4(ipv4Of(address.parts[1], address.parts[2]));
  for (const [range, cls] of IPV6_RANGES) if (address.match(range)) return cls;
  return address.match(GLOBAL_UNICAST) ? 'public' : 'reserved';
}

export function classifyAddress(address: string): AddressClass {
  const parsed = parseAddress(address);
  if (!parsed) return 'invalid';
  return parsed.kind() === 'ipv4'
    ? classifyIpv4(parsed as ipaddr.IPv4)
    : classifyIpv6(parsed as ipaddr.IPv6);
}

export type TargetRefusal =
  'invalid_url' | 'unsupported_scheme' | 'credentials_in_url' | 'no_address' | 'forbidden_address';

export type TargetVerdict =
  | { ok: true; url: URL; addresses: string[] }
  | {
      ok: false;
      reason: TargetRefusal;
      message: string;
      address?: string;
      addressClass?: AddressClass;
    };

/** The IP literal of a URL's host (`http://10.0.0.1/`, `http://[::1]/`), or null for a name. */
export function literalAddress(url: URL): string | null {
  const host = url.hostname;
  return parseIp(host) ? host.replace(/^\[|\]$/g, '') : null;
}

/** Parses and checks the URL's form only: http(s), a host, no user:password. */
export function parseWebhookUrl(text: string): TargetVerdict {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'invalid_url', message: 'not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: 'unsupported_scheme', message: 'the URL must use http or https' };
  }
  if (url.username !== '' || url.password !== '') {
    return {
      ok: false,
      reason: 'credentials_in_url',
      message: 'the URL must not carry credentials',
    };
  }
  if (url.hostname === '')
    return { ok: false, reason: 'invalid_url', message: 'the URL has no host' };
  const literal = literalAddress(url);
  return { ok: true, url, addresses: literal ? [literal] : [] };
}

export interface TargetCheck {
  url: string;
  /** Every address the host resolved to (for an IP literal, ignored: the literal is checked). */
  resolvedAddresses: readonly string[];
  allowPrivateTargets: boolean;
}

/** Whether a delivery to this URL, at these addresses, may go out. */
export function checkWebhookTarget(check: TargetCheck): TargetVerdict {
  const parsed = parseWebhookUrl(check.url);
  if (!parsed.ok) return parsed;
  const addresses = parsed.addresses.length > 0 ? parsed.addresses : [...check.resolvedAddresses];
  if (addresses.length === 0) {
    return { ok: false, reason: 'no_address', message: 'the host did not resolve to any address' };
  }
  for (const address of addresses) {
    const cls = classifyAddress(address);
    if (cls === 'invalid') {
      return { ok: false, reason: 'no_address', message: `not an IP address: ${address}`, address };
    }
    if (cls !== 'public' && !check.allowPrivateTargets) {
      return {
        ok: false,
        reason: 'forbidden_address',
        message: `webhook targets on ${cls.replace('_', '-')} addresses are not allowed (${address})`,
        address,
        addressClass: cls,
      };
    }
  }
  return { ok: true, url: parsed.url, addresses };
}
