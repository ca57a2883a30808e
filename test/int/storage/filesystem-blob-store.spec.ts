import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FilesystemBlobStore } from '../../../src/drivers/blobs/filesystem-blob-store';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

/** A source of `count` chunks of `size` bytes each, generated (never one buffer of it all). */
function generated(count: number, size: number): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === count) this.push(null);
      else this.push(Buffer.alloc(size, i++ % 251));
    },
  });
}

describe('FilesystemBlobStore', () => {
  let root: string;
  let store: FilesystemBlobStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nimbus-blobs-'));
    store = new FilesystemBlobStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores a streamed blob with its size, SHA-256 and MD5, and reads it back whole or by range', async () => {
    const content = Buffer.from('hello, object storage\n'.repeat(1000));
    const blob = await store.put(Readable.from([content.subarray(0, 7), content.subarray(7)]));
    expect(blob).toEqual({
      blobId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sizeBytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      md5: createHash('md5').update(content).digest('hex'),
    });
    expect((await collect(await store.open(blob.blobId))).equals(content)).toBe(true);
    const part = await collect(await store.open(blob.blobId, { start: 7, end: 20 }));
    expect(part.toString()).toBe(content.subarray(7, 21).toString());
    expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
  });

  it('streams 64 MiB without holding it (hashes match a generated source)', async () => {
    const expected = createHash('sha256');
    for await (const chunk of generated(64, 1024 * 1024)) expected.update(chunk as Buffer);
    const blob = await store.put(generated(64, 1024 * 1024));
    expect(blob.sizeBytes).toBe(64 * 1024 * 1024);
    expect(blob.sha256).toBe(expected.digest('hex'));
  });

  it('an unfinished write is invisible: only a temporary file exists until the source ends', async () => {
    const source = new PassThrough();
    const writing = store.put(source);
    source.write(Buffer.alloc(4096, 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await filesUnder(join(root, 'objects'))).toEqual([]);
    expect(await filesUnder(join(root, 'tmp'))).toHaveLength(1);
    source.end(Buffer.alloc(10, 2));
    const blob = await writing;
    expect(await filesUnder(join(root, 'objects'))).toEqual([
      join(root, 'objects', blob.blobId.slice(0, 2), blob.blobId),
    ]);
    expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
  });

  it('a source that fails or exceeds maxBytes leaves nothing behind (413 payload_too_large)', async () => {
    await expect(store.put(generated(3, 1000), { maxBytes: 2500 })).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    const failing = new Readable({
      read() {
        this.destroy(new Error('client went away'));
      },
    });
    await expect(store.put(failing)).rejects.toThrow('client went away');
    expect(await filesUnder(root)).toEqual([]);
  });

  it('concatenates blobs in order into a new blob (multipart completion)', async () => {
    const a = await store.put(Readable.from([Buffer.from('abc')]));
    const b = await store.put(Readable.from([Buffer.from('defg')]));
    const joined = await store.concat([b.blobId, a.blobId]);
    expect(joined.sizeBytes).toBe(7);
    expect((await collect(await store.open(joined.blobId))).toString()).toBe('defgabc');
    await expect(store.concat([a.blobId, '00000000-0000-4000-8000-000000000000'])).rejects.toThrow(
      /ENOENT/,
    );
  });

  it('delete is idempotent; a deleted blob cannot be opened', async () => {
    const a = await store.put(Readable.from([Buffer.from('abc')]));
    await store.delete([a.blobId]);
    await store.delete([a.blobId]);
    await expect(store.open(a.blobId)).rejects.toThrow(/ENOENT/);
  });

  it('start-up recovery removes temporary files of writes a crash interrupted', async () => {
    // What a process killed mid-upload leaves: a partial temporary file, nothing in objects/.
    await mkdir(join(root, 'tmp'), { recursive: true });
    await writeFile(join(root, 'tmp', 'c0ffee00-0000-4000-8000-000000000000.part'), 'partial');
    const kept = await store.put(Readable.from([Buffer.from('kept')]));
    expect(await store.recover()).toEqual({ temporaryFilesRemoved: 1 });
    expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
    expect((await collect(await store.open(kept.blobId))).toString()).toBe('kept');
  });

  it('sweeps blobs no metadata references once older than the grace period', async () => {
    const referenced = await store.put(Readable.from([Buffer.from('in use')]));
    const orphan = await store.put(Readable.from([Buffer.from('orphan')]));
    const fresh = await store.put(Readable.from([Buffer.from('just written')]));
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const id of [referenced.blobId, orphan.blobId]) {
      await utimes(join(root, 'objects', id.slice(0, 2), id), old, old);
    }
    const asked: string[] = [];
    const removed = await store.sweepOrphans(async (ids) => {
      asked.push(...ids);
      return new Set(ids.filter((id) => id === referenced.blobId));
    }, 3600_000);
    expect(removed).toBe(1);
    expect(asked.sort()).toEqual([referenced.blobId, orphan.blobId].sort());
    await expect(store.open(orphan.blobId)).rejects.toThrow(/ENOENT/);
    await store.open(referenced.blobId);
    await store.open(fresh.blobId);
  });

  it('reports capacity, free and used bytes of its file system', async () => {
    const status = await store.status();
    expect(status).toMatchObject({ backend: 'filesystem', location: root, healthy: true });
    expect(status.capacityBytes).toBeGreaterThan(0);
    expect(status.freeBytes).toBeLessThanOrEqual(status.capacityBytes);
  });
});
