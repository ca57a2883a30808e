import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Where a snapshot's file lives: `<NIMBUS_DATA_DIR>/database-snapshots/<id>.tar`. */
export function snapshotFile(snapshotDir: string, snapshotId: string): string {
  return join(snapshotDir, `${snapshotId}.tar`);
}

/** Size and SHA-256 of a file, streamed. */
export async function fileDigest(file: string): Promise<{ sizeBytes: number; sha256: string }> {
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(file)) sha256.update(chunk as Buffer);
  return { sizeBytes: (await stat(file)).size, sha256: sha256.digest('hex') };
}

export async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
