import { describe, expect, it } from 'vitest';

import {
  checkedCidr,
  checkedIp,
  hostDevices,
  InvalidFabricIdError,
  macAddressOf,
  ovnNames,
  peeringLink,
} from './ovn-names';

const ID = '3f2b8c1e-5a6d-4e7f-8a9b-0c1d2e3f4a5b';

describe('OVN names', () => {
  it('names every object after its resource id', () => {
    expect(ovnNames.router(ID)).toBe(`nimbus-vpc-${ID}`);
    expect(ovnNames.switch(ID)).toBe(`nimbus-subnet-${ID}`);
    expect(ovnNames.nic(ID)).toBe(`nimbus-nic-${ID}`);
    expect(ovnNames.peeringPort(ID, 'requester')).toBe(`nimbus-peer-${ID}-r`);
    expect(ovnNames.peeringPort(ID, 'accepter')).toBe(`nimbus-peer-${ID}-a`);
  });

  it('gives port groups names that are identifiers in the match language', () => {
    expect(ovnNames.portGroup(ID)).toBe(`nimbus_sg_${ID.replace(/-/g, '_')}`);
    expect(ovnNames.portGroup(ID)).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
  });

  it.each([
    ['with a space', 'a b'],
    ['with a quote', 'a"b'],
    ['that would end a match expression', 'x && 1'],
    ['empty', ''],
    ['too long', 'a'.repeat(65)],
  ])('refuses an id %s', (_what, id) => {
    expect(() => ovnNames.router(id)).toThrow(InvalidFabricIdError);
    expect(() => ovnNames.portGroup(id)).toThrow(InvalidFabricIdError);
  });

  it('keeps host device names within the 15 characters Linux allows, distinct per NIC', () => {
    const other = '00000000-0000-4000-8000-000000000000';
    for (const id of [ID, other]) {
      expect(hostDevices.hostEnd(id)).toMatch(/^nh[0-9a-f]{13}$/);
      expect(hostDevices.innerEnd(id)).toMatch(/^ni[0-9a-f]{13}$/);
    }
    expect(hostDevices.hostEnd(ID)).not.toBe(hostDevices.hostEnd(other));
  });

  it('derives stable, locally administered unicast MACs', () => {
    expect(macAddressOf(ID)).toBe(macAddressOf(ID));
    expect(macAddressOf(ID)).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(macAddressOf(ID, 'router')).toMatch(/^0a(:[0-9a-f]{2}){5}$/);
    expect(macAddressOf(ID, 'router')).not.toBe(macAddressOf(ID).replace(/^02/, '0a'));
  });

  it('links a peering with a /30 of 169.254.0.0/16, the requester first', () => {
    const link = peeringLink(ID);
    expect(link).toEqual(peeringLink(ID));
    expect(link.prefixLength).toBe(30);
    const [a, b] = [link.requesterIp, link.accepterIp].map((ip) => ip.split('.').map(Number));
    expect(a.slice(0, 2)).toEqual([169, 254]);
    expect(b.slice(0, 3)).toEqual(a.slice(0, 3));
    expect(a[3] % 4).toBe(1);
    expect(b[3]).toBe(a[3] + 1);
  });

  it('accepts only dotted IPv4 addresses and CIDRs', () => {
    expect(checkedIp('10.0.0.1')).toBe('10.0.0.1');
    expect(checkedCidr('10.0.0.0/16')).toBe('10.0.0.0/16');
    for (const bad of ['10.0.0', '10.0.0.256', '::1', '10.0.0.1 && 1', '0x0a000001']) {
      expect(() => checkedIp(bad)).toThrow(/not an IPv4 address/);
    }
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/16 || 1']) {
      expect(() => checkedCidr(bad)).toThrow(/not an IPv4 CIDR/);
    }
  });
});
