import { describe, expect, it } from 'vitest';

import {
  assignableAddressProblem,
  cidrOf,
  DEFAULT_VPC_CIDR,
  firstFreeAddress,
  gatewayAddress,
  overlappingSiblings,
  overlaps,
  parseCidr,
  peeringCidrProblem,
  subnetCidrProblem,
  usableAddressCount,
  vpcCidrProblem,
} from './cidr';

describe('VPC blocks', () => {
  it('defaults to 10.0.0.0/16, which is valid', () => {
    expect(DEFAULT_VPC_CIDR).toBe('10.0.0.0/16');
    expect(vpcCidrProblem(DEFAULT_VPC_CIDR)).toBeNull();
  });

  it.each([
    ['10.0.0.0/16', null],
    ['10.20.0.0/28', null],
    ['172.16.0.0/16', null],
    ['192.168.10.0/24', null],
    ['10.0.0.0/15', /prefix \/15 is outside \/16 to \/28/],
    ['10.0.0.0/29', /prefix \/29 is outside/],
    ['10.0.0.0/8', /outside/],
    ['10.0.0.7/16', /not a network address: the block is 10.0.0.0\/16/],
    ['10.0.0.0', /not an IPv4 CIDR/],
    ['10.0.0.256/16', /not an IPv4 CIDR/],
    ['10.0.0.0/33', /not an IPv4 CIDR/],
    ['fd00::/64', /not an IPv4 CIDR/],
    ['0x0a000000/16', /not an IPv4 CIDR/],
    [' 10.0.0.0/16', /not an IPv4 CIDR/],
    ['100.64.0.0/16', /not a private network/],
    ['8.8.0.0/16', /not a private network/],
    ['127.0.0.0/16', /not a private network/],
    ['169.254.0.0/16', /not a private network/],
    [42, /must be a string/],
  ])('%s -> %s', (cidr, expected) => {
    const problem = vpcCidrProblem(cidr);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });
});

describe('subnet blocks', () => {
  it.each([
    ['10.0.1.0/24', '10.0.0.0/16', null],
    ['10.0.0.0/16', '10.0.0.0/16', null],
    ['10.0.255.240/28', '10.0.0.0/16', null],
    ['10.1.0.0/24', '10.0.0.0/16', /not inside the VPC's block 10.0.0.0\/16/],
    ['10.0.0.0/15', '10.0.0.0/16', /prefix \/15/],
    ['10.0.1.0/29', '10.0.0.0/16', /prefix \/29/],
    ['10.0.1.5/24', '10.0.0.0/16', /not a network address/],
    ['192.168.0.0/24', '10.0.0.0/16', /not inside/],
  ])('%s in %s -> %s', (cidr, vpc, expected) => {
    const problem = subnetCidrProblem(cidr, vpc);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });

  it.each([
    ['10.0.1.0/24', ['10.0.2.0/24', '10.0.3.0/24'], []],
    ['10.0.1.0/24', ['10.0.1.0/24'], ['10.0.1.0/24']],
    ['10.0.1.128/25', ['10.0.0.0/23'], ['10.0.0.0/23']],
    ['10.0.0.0/20', ['10.0.15.0/24', '10.0.16.0/24'], ['10.0.15.0/24']],
    ['10.0.1.0/28', ['10.0.1.16/28'], []],
  ])('%s against siblings %j overlaps %j', (cidr, siblings, expected) => {
    const found = overlappingSiblings(
      cidr,
      siblings.map((cidrBlock) => ({ cidrBlock })),
    );
    expect(found.map((s) => s.cidrBlock)).toEqual(expected);
  });
});

describe('peering blocks', () => {
  it.each([
    ['10.0.0.0/16', '10.1.0.0/16', null],
    ['10.0.0.0/16', '10.0.0.0/16', /overlap/],
    ['10.0.0.0/16', '10.0.128.0/24', /overlap/],
    ['172.16.0.0/16', '192.168.0.0/16', null],
  ])('%s with %s -> %s', (a, b, expected) => {
    const problem = peeringCidrProblem(a, b);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
    expect(overlaps(cidrOf(a), cidrOf(b))).toBe(expected !== null);
  });
});

describe('addresses in a subnet', () => {
  it('the router takes the first address after the network', () => {
    expect(gatewayAddress('10.0.1.0/24')).toBe('10.0.1.1');
    expect(gatewayAddress('10.0.255.240/28')).toBe('10.0.255.241');
  });

  it.each([
    ['10.0.1.0/24', 251],
    ['10.0.0.0/16', 65531],
    ['10.0.1.0/28', 11],
  ])('%s offers %i addresses', (cidr, count) => {
    expect(usableAddressCount(cidr)).toBe(count);
  });

  it.each([
    ['10.0.1.4', null],
    ['10.0.1.254', null],
    ['10.0.1.0', /reserved/],
    ['10.0.1.1', /reserved/],
    ['10.0.1.3', /reserved/],
    ['10.0.1.255', /broadcast/],
    ['10.0.2.4', /not in 10.0.1.0\/24/],
    ['10.0.1', /not an IPv4 address/],
  ])('in 10.0.1.0/24, %s -> %s', (ip, expected) => {
    const problem = assignableAddressProblem('10.0.1.0/24', ip);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });

  it('allocates the lowest free address, skipping the reserved ones, until the subnet is full', () => {
    const taken = new Set<string>();
    const given: string[] = [];
    for (;;) {
      const next = firstFreeAddress('10.0.1.0/28', taken);
      if (next === null) break;
      taken.add(next);
      given.push(next);
    }
    expect(given).toEqual([
      '10.0.1.4',
      '10.0.1.5',
      '10.0.1.6',
      '10.0.1.7',
      '10.0.1.8',
      '10.0.1.9',
      '10.0.1.10',
      '10.0.1.11',
      '10.0.1.12',
      '10.0.1.13',
      '10.0.1.14',
    ]);
    expect(new Set(given).size).toBe(given.length);
    taken.delete('10.0.1.9');
    expect(firstFreeAddress('10.0.1.0/28', taken)).toBe('10.0.1.9');
  });

  it('crosses octet boundaries', () => {
    const taken = new Set(['10.0.0.4']);
    for (let i = 5; i <= 255; i += 1) taken.add(`10.0.0.${i}`);
    expect(firstFreeAddress('10.0.0.0/23', taken)).toBe('10.0.1.0');
  });

  it('parses canonical blocks only', () => {
    expect(parseCidr('10.0.1.0/24')).toMatchObject({
      ok: true,
      cidr: { text: '10.0.1.0/24', prefixLength: 24 },
    });
    expect(parseCidr('10.0.1.1/24')).toMatchObject({ ok: false });
  });
});
