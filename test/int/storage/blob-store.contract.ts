import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { BlobStore } from '../../../src/storage/ports/blob-store';

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A source of `count` chunks of `size` bytes each, generated (never one buffer of it all). */
export function generated(count: number, size: number): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === count) this.push(null);
      else this.push(Buffer.alloc(size, i++ % 251));
    },
  });
}

export interface BlobStoreUnderTest {
  store: BlobStore;
  /** Everything the store holds besides finished blobs (temporary files, unfinished uploads). */
  leftovers(): Promise<string[]>;
  /** Every finished blob id it holds. */
  blobIds(): Promise<string[]>;
  /** What a process killed mid-write leaves behind. */
  crashedWrite(): Promise<void>;
  /** Makes a blob look written two hours ago, when the backend allows it. */
  age?(blobId: string): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * The BlobStore port's contract (src/storage/ports/blob-store.ts), run against each adapter: the
 * filesystem one, and the S3 one against an external endpoint or Nimbus's own S3 endpoint, so
 * neither is ever skipped.
 */
export function blobStoreContract(name: string, create: () => Promise<BlobStoreUnderTest>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let t: BlobStoreUnderTest;
    beforeEach(async () => {
      t = await create();
    });
    afterEach(async () => {
      await t.dispose();
    });

    it('stores a streamed blob with its size, SHA-256 and MD5, and reads it back whole or by range', async () => {
      const content = Buffer.from('hello, object storage\n'.repeat(1000));
      const blob = await t.store.put(Readable.from([content.subarray(0, 7), content.subarray(7)]));
      expect(blob).toEqual({
        blobId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        sizeBytes: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
        md5: createHash('md5').update(content).digest('hex'),
      });
      expect((await collect(await t.store.open(blob.blobId))).equals(content)).toBe(true);
      const part = await collect(await t.store.open(blob.blobId, { start: 7, end: 20 }));
      expect(part.toString()).toBe(content.subarray(7, 21).toString());
      expect(await t.leftovers()).toEqual([]);
      expect(await t.blobIds()).toEqual([blob.blobId]);
    });

    it('streams 64 MiB without holding it (hashes match a generated source)', async () => {
      const expected = createHash('sha256');
      for await (const chunk of generated(64, 1024 * 1024)) expected.update(chunk as Buffer);
      const blob = await t.store.put(generated(64, 1024 * 1024));
      expect(blob.sizeBytes).toBe(64 * 1024 * 1024);
      expect(blob.sha256).toBe(expected.digest('hex'));
      const back = createHash('sha256');
      for await (const chunk of await t.store.open(blob.blobId)) back.update(chunk as Buffer);
      expect(back.digest('hex')).toBe(blob.sha256);
      expect(await t.leftovers()).toEqual([]);
    });

    it('a source that fails or exceeds maxBytes leaves nothing behind (413 payload_too_large)', async () => {
      await expect(t.store.put(generated(3, 1000), { maxBytes: 2500 })).rejects.toMatchObject({
        code: 'payload_too_large',
      });
      // Larger than one multipart part, so an upload was under way when the limit was crossed.
      await expect(
        t.store.put(generated(24, 1024 * 1024), { maxBytes: 20 * 1024 * 1024 }),
      ).rejects.toMatchObject({ code: 'payload_too_large' });
      let sent = 0;
      const failing = new Readable({
        read() {
          if (sent++ < 12) this.push(Buffer.alloc(1024 * 1024, 7));
          else this.destroy(new Error('client went away'));
        },
      });
      await expect(t.store.put(failing)).rejects.toThrow('client went away');
      expect(await t.leftovers()).toEqual([]);
      expect(await t.blobIds()).toEqual([]);
    });

    it('concatenates blobs in order into a new blob (multipart completion), small or large', async () => {
      const a = await t.store.put(Readable.from([Buffer.from('abc')]));
      const b = await t.store.put(Readable.from([Buffer.from('defg')]));
      const joined = await t.store.concat([b.blobId, a.blobId]);
      expect(joined.sizeBytes).toBe(7);
      expect(joined.md5).toBe(createHash('md5').update('defgabc').digest('hex'));
      expect((await collect(await t.store.open(joined.blobId))).toString()).toBe('defgabc');
      await expect(
        t.store.concat([a.blobId, '00000000-0000-4000-8000-000000000000']),
      ).rejects.toThrow();

      // Parts of 5 MiB and more (a server-side copy where the backend has one).
      const big = await t.store.put(generated(6, 1024 * 1024));
      const whole = createHash('sha256');
      for await (const chunk of generated(6, 1024 * 1024)) whole.update(chunk as Buffer);
      whole.update('abc');
      const large = await t.store.concat([big.blobId, a.blobId]);
      expect(large.sizeBytes).toBe(6 * 1024 * 1024 + 3);
      expect(large.sha256).toBe(whole.digest('hex'));
      const tail = await collect(
        await t.store.open(large.blobId, { start: large.sizeBytes - 5, end: large.sizeBytes - 1 }),
      );
      expect(tail.equals(Buffer.concat([Buffer.alloc(2, 5 % 251), Buffer.from('abc')]))).toBe(true);
      expect(await t.leftovers()).toEqual([]);
    });

    it('delete is idempotent; a deleted blob cannot be opened', async () => {
      const a = await t.store.put(Readable.from([Buffer.from('abc')]));
      await t.store.delete([a.blobId]);
      await t.store.delete([a.blobId]);
      await expect(t.store.open(a.blobId)).rejects.toThrow();
      expect(await t.blobIds()).toEqual([]);
    });

    it('start-up recovery removes what writes a crash interrupted left', async () => {
      await t.crashedWrite();
      const kept = await t.store.put(Readable.from([Buffer.from('kept')]));
      expect(await t.store.recover()).toEqual({ temporaryFilesRemoved: 1 });
      expect(await t.leftovers()).toEqual([]);
      expect(await t.store.recover()).toEqual({ temporaryFilesRemoved: 0 });
      expect((await collect(await t.store.open(kept.blobId))).toString()).toBe('kept');
    });

    it('sweeps blobs no metadata references once older than the grace period', async () => {
      const referenced = await t.store.put(Readable.from([Buffer.from('in use')]));
      const orphan = await t.store.put(Readable.from([Buffer.from('orphan')]));
      const fresh = await t.store.put(Readable.from([Buffer.from('just written')]));
      const { age } = t;
      const candidates = age ? [referenced.blobId, orphan.blobId] : [];
      if (age) for (const id of candidates) await age(id);
      // Without a way to age a blob, a negative grace makes every blob old enough.
      const grace = age ? 3600_000 : -3600_000;
      const asked: string[] = [];
      const removed = await t.store.sweepOrphans(async (ids) => {
        asked.push(...ids);
        return new Set(ids.filter((id) => id === referenced.blobId || id === fresh.blobId));
      }, grace);
      expect(removed).toBe(1);
      expect(asked.sort()).toEqual(
        (age ? candidates : [referenced.blobId, orphan.blobId, fresh.blobId]).sort(),
      );
      await expect(t.store.open(orphan.blobId)).rejects.toThrow();
      await t.store.open(referenced.blobId);
      await t.store.open(fresh.blobId);
    });

    it('reports itself healthy', async () => {
      const status = await t.store.status();
      expect(status).toMatchObject({ healthy: true, problem: null });
    });
  });
}
