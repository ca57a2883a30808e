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

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseIpv4(text: string): bigint | null {
  if (!IPV4_RE.test(text)) return null;
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
}

function parseIpv6(text: string): bigint | null {
  let body = text;
  let tail: bigint | null = null;
  // an embedded dotted IPv4 tail counts as the last two groups
  const lastColon = body.lastIndexOf(':');
  if (lastColon !== -1 && body.includes('.', lastColon)) {
    tail = parseIpv4(body.slice(lastColon + 1));
    if (tail === null) return null;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (tail !== null) value = (value & ~0xffffffffn) | tail;
  return value;
}

/** Parses an IP literal: dotted-quad IPv4 (no octal or short forms) or IPv6 (brackets and zone ok). */
export function parseIp(text: string): ParsedIp | null {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const v4 = parseIpv4(t);
  if (v4 !== null) return { version: 4, value: v4 };
  const zone = t.indexOf('%');
  if (zone !== -1) t = t.slice(0, zone);
  if (!t.includes(':')) return null;
  const v6 = parseIpv6(t);
  return v6 === null ? null : { version: 6, value: v6 };
}

interface Range {
  base: bigint;
  prefix: number;
  class: AddressClass;
}

function range(version: 4 | 6, cidr: string, cls: AddressClass): Range {
  const [address, prefix] = cidr.split('/');
  const parsed = version === 4 ? parseIpv4(address) : parseIpv6(address);
  if (parsed === null) throw new Error(`bad range ${cidr}`);
  return { base: parsed, prefix: Number(prefix), class: cls };
}

function inRange(value: bigint, bits: number, r: Range): boolean {
  const shift = BigInt(bits - r.prefix);
  return value >> shift === r.base >> shift;
}

// Order matters: the first match wins (the broadcast address before 240/4).
const IPV4_RANGES: Range[] = [
  range(4, '0.0.0.0/8', 'unspecified'),
  range(4, '10.0.0.0/8', 'private'),
  range(4, '100.64.0.0/10', 'cgnat'),
  range(4, '127.0.0.0/8', 'loopback'),
  range(4, '169.254.0.0/16', 'link_local'),
  range(4, '172.16.0.0/12', 'private'),
  range(4, '192.0.0.0/24', 'reserved'),
  range(4, '192.0.2.0/24', 'reserved'),
  range(4, '192.88.99.0/24', 'reserved'),
  range(4, '192.168.0.0/16', 'private'),
  range(4, '198.18.0.0/15', 'reserved'),
  range(4, '198.51.100.0/24', 'reserved'),
  range(4, '203.0.113.0/24', 'reserved'),
  range(4, '224.0.0.0/4', 'multicast'),
  range(4, '255.255.255.255/32', 'broadcast'),
  range(4, '240.0.0.0/4', 'reserved'),
];

const IPV6_RANGES: Range[] = [
  range(6, '::/128', 'unspecified'),
  range(6, '::1/128', 'loopback'),
  range(6, '100::/64', 'reserved'),
  range(6, '2001:db8::/32', 'reserved'),
  range(6, '2001::/32', 'reserved'),
  range(6, 'fc00::/7', 'unique_local'),
  range(6, 'fe80::/10', 'link_local'),
  range(6, 'fec0::/10', 'reserved'),
  range(6, 'ff00::/8', 'multicast'),
];

const MAPPED = range(6, '::ffff:0:0/96', 'reserved');
const NAT64 = range(6, '64:ff9b::/96', 'reserved');
const SIX_TO_FOUR = range(6, '2002::/16', 'reserved');
const GLOBAL_UNICAST = range(6, '2000::/3', 'public');

function classifyIpv4(value: bigint): AddressClass {
  for (const r of IPV4_RANGES) if (inRange(value, 32, r)) return r.class;
  return 'public';
}

function classifyIpv6(value: bigint): AddressClass {
  if (inRange(value, 128, MAPPED) || inRange(value, 128, NAT64)) {
    return classifyIpv4(value & 0xffffffffn);
  }
  if (inRange(value, 128, SIX_TO_FOUR)) return classifyIpv4((value >> 80n) & 0xffffffffn);
  for (const r of IPV6_RANGES) if (inRange(value, 128, r)) return r.class;
  return inRange(value, 128, GLOBAL_UNICAST) ? 'public' : 'reserved';
}

export function classifyAddress(address: string): AddressClass {
  const ip = parseIp(address);
  if (!ip) return 'invalid';
  return ip.version === 4 ? classifyIpv4(ip.value) : classifyIpv6(ip.value);
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
