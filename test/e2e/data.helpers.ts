/**
 * What the data e2e files share: Debian's psql on the host, waiting for a state through the API,
 * and removing what a test's databases left in Docker.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import {
  databaseContainerName,
  databaseVolumeName,
  exporterContainerName,
  poolerContainerName,
} from '../../src/drivers/engines/postgres-engine';
import { dockerClient } from '../int/drivers/real-backends';

const run = promisify(execFile);

/** One statement through psql (unaligned, tuples only): what it printed. */
export async function psql(connection: string, sql: string): Promise<string> {
  const { stdout } = await run('psql', [connection, '-v', 'ON_ERROR_STOP=1', '-Atq', '-c', sql], {
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
  });
  return stdout.trim();
}

/** What psql printed on stderr for a statement that must fail; throws when it succeeds. */
export async function psqlError(connection: string, sql: string): Promise<string> {
  try {
    await psql(connection, sql);
  } catch (error) {
    return (error as { stderr?: string }).stderr ?? String(error);
  }
  throw new Error(`psql ran ${sql} but was expected to fail`);
}

/** Polls `fn` every 250 ms until it answers a value (not undefined). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 300_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every container (server, pooler, exporter) and the volume of each database: best effort. */
export async function removeDatabaseEngines(ids: readonly string[]): Promise<void> {
  const client = dockerClient();
  for (const id of ids) {
    for (const name of [
      exporterContainerName(id),
      poolerContainerName(id),
      databaseContainerName(id),
    ]) {
      await client
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await client
      .getVolume(databaseVolumeName(id))
      .remove()
      .catch(() => undefined);
  }
}
