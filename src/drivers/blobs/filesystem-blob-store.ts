import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { crashPoint } from '../../common/crash-point';
import type {
  BlobStore,
  BlobStoreStatus,
  BlobWriteOptions,
  ByteRange,
  StoredBlob,
} from '../../storage/ports/blob-store';
import { BLOB_ID_RE, Digesting } from './digesting';

/**
 * Blobs as files under `root` (`<NIMBUS_DATA_DIR>/blobs`): `objects/<first two hex digits>/<id>`,
 * written as `tmp/<random>` first, fsynced, renamed into place, and the directory fsynced, so a
 * crash leaves either the whole blob or a temporary file that `recover` removes. One Nimbus
 * process per data directory (start-up removes every temporary file).
 */
export class FilesystemBlobStore implements BlobStore {
  private readonly objects: string;
  private readonly tmp: string;

  constructor(private readonly root: string) {
    this.objects = join(root, 'objects');
    this.tmp = join(root, 'tmp');
  }

  private pathOf(blobId: string): string {
    if (!BLOB_ID_RE.test(blobId)) throw new Error(`not a blob id: ${blobId}`);
    return join(this.objects, blobId.slice(0, 2), blobId);
  }

  async put(source: Readable, options: BlobWriteOptions = {}): Promise<StoredBlob> {
    return this.write(source, options.maxBytes ?? Number.MAX_SAFE_INTEGER);
  }

  async concat(blobIds: readonly string[], options: BlobWriteOptions = {}): Promise<StoredBlob> {
    for (const id of blobIds) await stat(this.pathOf(id));
    const paths = blobIds.map((id) => this.pathOf(id));
    async function* chained(): AsyncGenerator<Buffer> {
      for (const [index, path] of paths.entries()) {
        if (index === 1) await crashPoint('blob-concat-mid');
        for await (const chunk of createReadStream(path)) yield chunk as Buffer;
      }
    }
    return this.write(Readable.from(chained()), options.maxBytes ?? Number.MAX_SAFE_INTEGER);
  }

  private async write(source: Readable, maxBytes: number): Promise<StoredBlob> {
    await mkdir(this.tmp, { recursive: true });
    const blobId = randomUUID();
    const temporary = join(this.tmp, `${blobId}.part`);
    const digest = new Digesting(maxBytes);
    try {
      await pipeline(source, digest, createWriteStream(temporary, { flags: 'wx' }));
      await this.fsyncFile(temporary);
      const target = this.pathOf(blobId);
      const shard = join(this.objects, blobId.slice(0, 2));
      await mkdir(shard, { recursive: true });
      await rename(temporary, target);
      await this.fsyncFile(shard);
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
    return {
      blobId,
      sizeBytes: digest.bytes,
      sha256: digest.sha256.digest('hex'),
      md5: digest.md5.digest('hex'),
    };
  }

  private async fsyncFile(path: string): Promise<void> {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async open(blobId: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(blobId);
    await stat(path);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async delete(blobIds: readonly string[]): Promise<void> {
    for (const id of blobIds) await rm(this.pathOf(id), { force: true });
  }

  async recover(): Promise<{ temporaryFilesRemoved: number }> {
    let removed = 0;
    for (const name of await this.list(this.tmp)) {
      await rm(join(this.tmp, name), { force: true, recursive: true });
      removed += 1;
    }
    return { temporaryFilesRemoved: removed };
  }

  async sweepOrphans(
    referenced: (blobIds: readonly string[]) => Promise<ReadonlySet<string>>,
    olderThanMs: number,
  ): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const shard of await this.list(this.objects)) {
      const candidates: string[] = [];
      for (const name of await this.list(join(this.objects, shard))) {
        if (!BLOB_ID_RE.test(name)) continue;
        const info = await stat(join(this.objects, shard, name)).catch(() => null);
        if (info && info.mtimeMs < cutoff) candidates.push(name);
      }
      if (candidates.length === 0) continue;
      const kept = await referenced(candidates);
      for (const id of candidates) {
        if (kept.has(id)) continue;
        await unlink(this.pathOf(id)).catch(() => undefined);
        removed += 1;
      }
    }
    return removed;
  }

  private async list(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async status(): Promise<BlobStoreStatus> {
    try {
      await mkdir(this.objects, { recursive: true });
      const fs = await statfs(this.root);
      const capacityBytes = fs.blocks * fs.bsize;
      const freeBytes = fs.bavail * fs.bsize;
      return {
        backend: 'filesystem',
        location: this.root,
        healthy: true,
        capacityBytes,
        freeBytes,
        usedBytes: capacityBytes - fs.bfree * fs.bsize,
        problem: null,
      };
    } catch (err) {
      return {
        backend: 'filesystem',
        location: this.root,
        healthy: false,
        capacityBytes: 0,
        freeBytes: 0,
        usedBytes: 0,
        problem: (err as Error).message,
      };
    }
  }
}
