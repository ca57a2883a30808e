import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'installation-id';
const SHAPE = /^[0-9a-f-]{36}$/;

/**
 * The id of this installation: a random UUID kept in `<dataDir>/installation-id`, made on the
 * first start. Containers and volumes carry it (label `nimbus.installation`) so that several
 * installations can share one Docker engine without touching each other's. A copy of the data
 * directory is the same installation (it holds the same instances).
 */
export function installationIdOf(dataDir: string): string {
  const path = join(dataDir, FILE);
  const existing = readId(path);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, `${randomUUID()}\n`, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    // Written concurrently by another process of this installation: theirs stands.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const id = readId(path);
  if (!id) throw new Error(`${path} does not hold an installation id; remove it to make a new one`);
  return id;
}

function readId(path: string): string | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return SHAPE.test(text) ? text : null;
  } catch {
    return null;
  }
}
