import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json';
import {
  ERASED,
  GENESIS_HASH,
  lineHash,
  lineText,
  serializeLine,
  sha256Hex,
  summarizeChange,
  TimelineChainBuilder,
  type TimelineEntry,
} from './chain';
import {
  ed25519Signer,
  generateTimelineKeyPair,
  publicKeyDocument,
  timelineKeyId,
  TimelineKeyError,
  toPublicKey,
} from './keys';
import { verifyTimelineLines, verifyTimelineText, type TimelineFailure } from './verifier';

const TENANT = '7d3c9a10-0000-4000-8000-000000000001';
const keys = generateTimelineKeyPair();
const signer = ed25519Signer(keys.privateKeyPem);

function entry(i: number, overrides: Partial<TimelineEntry> = {}): TimelineEntry {
  return {
    position: `${100 + i}-${i}`,
    time: new Date(Date.UTC(2026, 0, 5, 10, 0, i)).toISOString(),
    actor: i % 3 === 0 ? ERASED : `user-${i}@example.com`,
    action: 'INSTANCE_LAUNCH',
    resource: `instance/i-${i}`,
    summary: summarizeChange('InstanceLaunchRequested', {
      name: `web-${i}`,
      instance_type: 'basic-2',
    }),
    ...overrides,
  };
}

function exportText(count: number): string {
  const chain = new TimelineChainBuilder(TENANT, { from: '2026-01-01T00:00:00Z', to: null });
  let text = '';
  for (let i = 1; i <= count; i++) text += serializeLine(chain.append(entry(i)));
  return text + serializeLine(chain.finish(signer, new Date('2026-02-01T00:00:00Z')));
}

const lines = (text: string) => text.split('\n').slice(0, -1);
const join = (ls: string[]) => ls.map((l) => `${l}\n`).join('');
const failure = (text: string, key: Parameters<typeof verifyTimelineText>[1] = keys.publicKeyPem) =>
  verifyTimelineText(text, key) as TimelineFailure;

describe('timeline chain', () => {
  it('chains each line to the previous one from the genesis hash', () => {
    const chain = new TimelineChainBuilder(TENANT);
    const first = chain.append(entry(1));
    const second = chain.append(entry(2));
    expect(first.prev_hash).toBe(GENESIS_HASH);
    expect(second.prev_hash).toBe(first.hash);
    const { hash, ...content } = second;
    expect(hash).toBe(sha256Hex(first.hash + canonicalJson(content)));
    expect(lineHash(second)).toBe(hash);
    expect([first.seq, second.seq]).toEqual([1, 2]);
    const manifest = chain.finish(signer, new Date('2026-02-01T00:00:00Z'));
    expect(manifest).toMatchObject({
      type: 'manifest',
      count: 2,
      first_position: '101-1',
      last_position: '102-2',
      final_hash: second.hash,
      key_id: signer.keyId,
      signed_at: '2026-02-01T00:00:00.000Z',
    });
    expect(() => chain.append(entry(3))).toThrow();
  });

  it('the fast line writer equals canonical JSON on generated lines', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = [
      'a',
      'Z',
      ' ',
      '"',
      '\\',
      '\n',
      '\u0000',
      '\u001f',
      'é',
      '€',
      '😀',
      '\ud800',
      '/',
      '<',
    ];
    const text = () =>
      Array.from(
        { length: Math.floor(random() * 12) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('');
    const chain = new TimelineChainBuilder(text());
    for (let i = 0; i < 500; i++) {
      const line = chain.append({
        position: `${i}-${i}`,
        time: text(),
        actor: text(),
        action: text(),
        resource: text(),
        summary: text(),
      });
      expect(lineText(line)).toBe(canonicalJson(line));
      const { hash, ...content } = line;
      expect(hash).toBe(sha256Hex(line.prev_hash + canonicalJson(content)));
    }
  });

  it('an export verifies, erased values included; so does an empty one', async () => {
    const text = exportText(50);
    expect(text).toContain('"actor":"[erased]"');
    const verdict = verifyTimelineText(text, keys.publicKeyPem);
    expect(verdict).toMatchObject({
      ok: true,
      count: 50,
      tenant_id: TENANT,
      key_id: signer.keyId,
      first_position: '101-1',
      last_position: '150-50',
    });
    expect(await verifyTimelineLines(lines(text), keys.publicKeyPem)).toEqual(verdict);
    expect(verifyTimelineText(exportText(0), keys.publicKeyPem)).toMatchObject({
      ok: true,
      count: 0,
      final_hash: GENESIS_HASH,
    });
    // CRLF line endings (a file passed through Windows) still verify
    expect(verifyTimelineText(text.replace(/\n/g, '\r\n'), keys.publicKeyPem)).toMatchObject({
      ok: true,
    });
  });

  it('verifies with the public key as PEM, JWK object, JWK text or KeyObject', () => {
    const text = exportText(3);
    const doc = publicKeyDocument(keys.publicKeyPem);
    expect(doc.key_id).toBe(signer.keyId);
    for (const key of [
      doc.public_key_pem,
      doc.jwk,
      JSON.stringify(doc.jwk),
      toPublicKey(keys.publicKeyPem),
    ]) {
      expect(verifyTimelineText(text, key)).toMatchObject({ ok: true });
    }
  });

  it('flipping one byte of any event line fails at that line', () => {
    const original = lines(exportText(20));
    for (const target of [0, 7, 19]) {
      const line = original[target];
      // every byte position of the line, flipped to another printable character
      for (let at = 0; at < line.length; at++) {
        const replacement = line[at] === 'a' ? 'b' : 'a';
        const altered = [...original];
        altered[target] = line.slice(0, at) + replacement + line.slice(at + 1);
        const f = failure(join(altered));
        expect({ at, ok: f.ok, line: f.line }).toEqual({ at, ok: false, line: target + 1 });
      }
    }
    // About 1,500 verifications: 1 s on a quiet machine, over 5 s when the machine is busy.
  }, 30_000);

  it('deleting a line fails at the line that took its place', () => {
    const original = lines(exportText(10));
    const f = failure(join(original.filter((_, i) => i !== 4)));
    expect(f).toMatchObject({ ok: false, line: 5, reason: 'line_missing' });
    expect(f.message).toContain('seq 6 where seq 5 was expected');
  });

  it('deleting the last event line fails at the manifest', () => {
    const original = lines(exportText(10));
    expect(failure(join(original.filter((_, i) => i !== 9)))).toMatchObject({
      line: 10,
      reason: 'manifest_mismatch',
    });
  });

  it('swapping two lines fails at the first of them', () => {
    const original = lines(exportText(10));
    const swapped = [...original];
    [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
    expect(failure(join(swapped))).toMatchObject({ line: 3, reason: 'line_missing' });
    const far = [...original];
    [far[1], far[8]] = [far[8], far[1]];
    expect(failure(join(far))).toMatchObject({ line: 2, reason: 'line_missing' });
    const repeated = [...original.slice(0, 5), original[3], ...original.slice(5)];
    expect(failure(join(repeated))).toMatchObject({ line: 6, reason: 'line_out_of_order' });
  });

  it('a line altered and rehashed breaks the chain at the next line', () => {
    const original = lines(exportText(6));
    const parsed = JSON.parse(original[2]);
    parsed.summary = 'nothing happened';
    parsed.hash = lineHash(parsed);
    const altered = [...original];
    altered[2] = canonicalJson(parsed);
    expect(failure(join(altered))).toMatchObject({ line: 4, reason: 'chain_broken' });
  });

  it('reformatted lines (same values, other bytes) fail as altered', () => {
    const original = lines(exportText(4));
    const spaced = [...original];
    spaced[1] = JSON.stringify(JSON.parse(original[1]), null, 1).replace(/\n/g, '');
    expect(failure(join(spaced))).toMatchObject({ line: 2, reason: 'not_canonical' });
  });

  it('a truncated or missing manifest fails', () => {
    const text = exportText(5);
    const all = lines(text);
    const manifestLine = all[5];
    expect(failure(join([...all.slice(0, 5), manifestLine.slice(0, 40)]))).toMatchObject({
      line: 6,
      reason: 'malformed_line',
    });
    expect(failure(join(all.slice(0, 5)))).toMatchObject({ line: 6, reason: 'manifest_missing' });
    expect(failure(text.slice(0, text.length - 10))).toMatchObject({
      line: 6,
      reason: 'malformed_line',
    });
    expect(failure(join([...all, all[0]]))).toMatchObject({
      line: 7,
      reason: 'content_after_manifest',
    });
  });

  it('a manifest altered in any signed field fails its signature', () => {
    const all = lines(exportText(5));
    const manifest = JSON.parse(all[5]);
    manifest.signed_at = '2030-01-01T00:00:00.000Z';
    expect(failure(join([...all.slice(0, 5), canonicalJson(manifest)]))).toMatchObject({
      line: 6,
      reason: 'bad_signature',
    });
    manifest.count = 4;
    expect(failure(join([...all.slice(0, 5), canonicalJson(manifest)]))).toMatchObject({
      line: 6,
      reason: 'manifest_mismatch',
    });
  });

  it('a wrong key fails at the manifest', () => {
    const text = exportText(5);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(failure(text, other)).toMatchObject({ line: 6, reason: 'wrong_key' });
    // a forger who copies the right key_id still cannot produce the signature
    const forger = ed25519Signer(generateKeyPairSync('ed25519').privateKey);
    const chain = new TimelineChainBuilder(TENANT, { from: '2026-01-01T00:00:00Z', to: null });
    let forged = '';
    for (let i = 1; i <= 5; i++) forged += serializeLine(chain.append(entry(i)));
    forged += serializeLine(chain.finish({ keyId: signer.keyId, sign: forger.sign }, new Date()));
    expect(failure(forged)).toMatchObject({ line: 6, reason: 'bad_signature' });
  });

  it('refuses keys that are not Ed25519', () => {
    const rsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(() => timelineKeyId(rsa)).toThrow(TimelineKeyError);
    expect(() => toPublicKey('not a key')).toThrow(TimelineKeyError);
  });

  it('summaries list scalar fields and leave secrets out', () => {
    expect(
      summarizeChange('InstanceResized', { instance_type: 'basic-4', instanceId: 'i-1' }),
    ).toBe('InstanceResized: instanceId=i-1, instance_type=basic-4');
    expect(summarizeChange('PasswordChanged', { userId: 'u-1', passwordHash: 'scrypt$...' })).toBe(
      'PasswordChanged: userId=u-1',
    );
    expect(summarizeChange('UserRegistered', { email: ERASED, tags: ['a'], meta: { a: 1 } })).toBe(
      'UserRegistered: email=[erased], meta={…}, tags=[1]',
    );
    expect(summarizeChange('X', null)).toBe('X');
    expect(summarizeChange('X', { long: 'y'.repeat(500) })).toHaveLength(240);
  });
});
