import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { SecretSealer } from './secret-sealer';

const ring = { current: { id: 'm1', key: randomBytes(32) } };
const tenant = '22222222-2222-4222-8222-222222222222';
const secret = '11111111-1111-5111-8111-111111111111';

describe('SecretSealer', () => {
  const sealer = new SecretSealer(ring);

  it('round-trips and never contains the plaintext', () => {
    const sealed = sealer.seal(tenant, secret, 'hunter2-hunter2');
    expect(sealed.startsWith('sv1.dk1.m1.')).toBe(true);
    expect(sealed).not.toContain('hunter2');
    expect(Buffer.from(sealed).includes(Buffer.from('hunter2'))).toBe(false);
    expect(sealer.open(tenant, secret, sealed)).toBe('hunter2-hunter2');
  });

  it('uses a fresh data key each time', () => {
    expect(sealer.seal(tenant, secret, 'v')).not.toBe(sealer.seal(tenant, secret, 'v'));
  });

  it('refuses a value moved to another secret or tenant, or under another master key', () => {
    const sealed = sealer.seal(tenant, secret, 'v');
    expect(() => sealer.open(tenant, '33333333-3333-4333-8333-333333333333', sealed)).toThrow();
    expect(() => sealer.open('44444444-4444-4444-8444-444444444444', secret, sealed)).toThrow();
    const other = new SecretSealer({ current: { id: 'm1', key: randomBytes(32) } });
    expect(() => other.open(tenant, secret, sealed)).toThrow();
  });

  it('opens values sealed under a previous master key after a master key rotation', () => {
    const sealed = sealer.seal(tenant, secret, 'old');
    const rotated = new SecretSealer({
      current: { id: 'm2', key: randomBytes(32) },
      previous: [ring.current],
    });
    expect(rotated.open(tenant, secret, sealed)).toBe('old');
  });
});
