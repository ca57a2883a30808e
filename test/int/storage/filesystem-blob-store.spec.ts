import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FilesystemBlobStore } from '../../../src/drivers/blobs/filesystem-blob-store';
import { blobStoreContract } from './blob-store.contract';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

blobStoreContract('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nimbus-blobs-'));
  const store = new FilesystemBlobStore(root);
  const pathOf = (id: string) => join(root, 'objects', id.slice(0, 2), id);
  return {
    store,
    leftovers: () => filesUnder(join(root, 'tmp')),
    blobIds: async () =>
      (await filesUnder(join(root, 'objects'))).map((p) => p.slice(p.lastIndexOf('/') + 1)),
    crashedWrite: async () => {
      // A partial temporary file, nothing in objects/.
      await mkdir(join(root, 'tmp'), { recursive: true });
      await writeFile(join(root, 'tmp', 'c0ffee00-0000-4000-8000-000000000000.part'), 'partial');
    },
    age: async (id) => {
      const old = new Date(Date.now() - 2 * 3600_000);
      await utimes(pathOf(id), old, old);
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

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

  it('a missing blob is ENOENT', async () => {
    await expect(store.open('00000000-0000-4000-8000-000000000000')).rejects.toThrow(/ENOENT/);
  });

  it('reports capacity, free and used bytes of its file system', async () => {
    const status = await store.status();
    expect(status).toMatchObject({ backend: 'filesystem', location: root, healthy: true });
    expect(status.capacityBytes).toBeGreaterThan(0);
    expect(status.freeBytes).toBeLessThanOrEqual(status.capacityBytes ?? 0);
  });
});
