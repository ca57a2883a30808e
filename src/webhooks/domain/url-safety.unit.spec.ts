import { describe, expect, it } from 'vitest';
import {
  checkWebhookTarget,
  classifyAddress,
  parseIp,
  parseWebhookUrl,
  type AddressClass,
} from './url-safety';

describe('address classification', () => {
  it.each<[string, AddressClass]>([
    // IPv4
    ['8.8.8.8', 'public'],
    ['1.2.3.4', 'public'],
    ['9.255.255.255', 'public'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['11.0.0.0', 'public'],
    ['172.15.255.255', 'public'],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', 'public'],
    ['192.168.1.1', 'private'],
    ['192.169.0.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link_local'],
    ['100.63.255.255', 'public'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.0', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.51.100.1', 'reserved'],
    ['203.0.113.7', 'reserved'],
    // IPv6
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:82a::200e', 'public'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf:ffff::1', 'link_local'],
    ['fc00::1', 'unique_local'],
    ['fd12:3456:789a::1', 'unique_local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo
    ['fec0::1', 'reserved'],
    ['4000::1', 'reserved'], // outside 2000::/3
    ['[::1]', 'loopback'],
    ['FE80::ABCD', 'link_local'],
    // IPv4 embedded in IPv6
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'], // the form WHATWG URL normalises to
    ['::ffff:a00:1', 'private'],
    ['::ffff:169.254.169.254', 'link_local'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::808:808', 'public'],
    ['2002:c0a8:0101::1', 'private'], // 6to4 of 192.168.1.1
    ['2002:0808:0808::1', 'public'],
    ['::127.0.0.1', 'reserved'], // deprecated IPv4-compatible
    // not addresses
    ['localhost', 'invalid'],
    ['010.0.0.1', 'invalid'],
    ['1.2.3', 'invalid'],
    ['256.1.1.1', 'invalid'],
    ['1::2::3', 'invalid'],
    ['1:2:3:4:5:6:7:8:9', 'invalid'],
    ['12345::1', 'invalid'],
    ['', 'invalid'],
  ])('%s is %s', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });

  it('parses IPv6 compression and embedded IPv4 exactly', () => {
    expect(parseIp('::ffff:1.2.3.4')).toEqual({ version: 6, value: 0xffff01020304n });
    expect(parseIp('1::')).toEqual({ version: 6, value: 1n << 112n });
    expect(parseIp('1:2:3:4:5:6:7:8')?.value).toBe(0x00010002000300040005000600070008n);
  });
});

describe('webhook target check', () => {
  const check = (url: string, resolvedAddresses: string[] = [], allowPrivateTargets = false) =>
    checkWebhookTarget({ url, resolvedAddresses, allowPrivateTargets });

  it('allows public targets', () => {
    expect(
      check('https://hooks.example.com/nimbus', [
        '93.184.216.34',
        '2606:2800:220:1:248:1893:25c8:1946',
      ]),
    ).toMatchObject({
      ok: true,
      addresses: ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    });
  });

  it.each([
    ['http://127.0.0.1:8080/hook', [], 'loopback'],
    ['http://[::1]/hook', [], 'loopback'],
    ['http://0x7f.1/hook', [], 'loopback'], // WHATWG normalises to 127.0.0.1
    ['http://[::ffff:10.0.0.1]/', [], 'private'],
    ['http://169.254.169.254/latest/meta-data', [], 'link_local'],
    ['https://internal.example.com/', ['93.184.216.34', '10.1.2.3'], 'private'], // any bad address refuses
    ['https://rebind.example.com/', ['100.64.0.5'], 'cgnat'],
  ])('refuses %s', (url, resolved, cls) => {
    expect(check(url, resolved)).toMatchObject({
      ok: false,
      reason: 'forbidden_address',
      addressClass: cls,
    });
  });

  it('ignores the resolver for IP literals (the literal is what gets called)', () => {
    expect(check('http://10.0.0.1/', ['8.8.8.8'])).toMatchObject({
      ok: false,
      address: '10.0.0.1',
    });
  });

  it('allows private targets only when the operator says so', () => {
    expect(check('http://127.0.0.1:9999/hook', [], true)).toMatchObject({
      ok: true,
      addresses: ['127.0.0.1'],
    });
    expect(check('http://[::1]:9999/hook', [], true)).toMatchObject({
      ok: true,
      addresses: ['::1'],
    });
  });

  it.each([
    ['not a url', 'invalid_url'],
    ['ftp://example.com/', 'unsupported_scheme'],
    ['file:///etc/passwd', 'unsupported_scheme'],
    ['https://user:pw@example.com/', 'credentials_in_url'],
  ])('refuses the form of %s', (url, reason) => {
    expect(parseWebhookUrl(url)).toMatchObject({ ok: false, reason });
  });

  it('refuses a host that resolved to nothing or to garbage', () => {
    expect(check('https://nowhere.example/')).toMatchObject({ ok: false, reason: 'no_address' });
    expect(check('https://odd.example/', ['not-an-ip'])).toMatchObject({
      ok: false,
      reason: 'no_address',
    });
  });
});
