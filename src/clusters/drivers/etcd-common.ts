/** What both etcd adapters (the local driver's container, kubeadm's static pods) share. */
import type { EtcdHealth } from '../ports/kubernetes';

const DATA_DIR_RE = /^(data-0|restore-[0-9a-f-]{36})$/;
const ID_RE = /^[0-9a-f-]{36}$/;

/** Data directories are names, `data-0` or `restore-<restoreId>`, never a path. */
export function checkDataDir(dataDir: string): void {
  if (!DATA_DIR_RE.test(dataDir)) {
    throw new Error(`${JSON.stringify(dataDir)} is no data directory`);
  }
}

export function checkId(kind: string, id: string): void {
  if (!ID_RE.test(id)) throw new Error(`${kind} ${JSON.stringify(id)} is not a uuid`);
}

interface EndpointStatus {
  Status?: {
    header?: { revision?: number };
    version?: string;
    dbSize?: number;
  };
}

export function etcdDown(error: string): EtcdHealth {
  return { healthy: false, version: null, revision: null, dbSizeBytes: null, dataDir: null, error };
}

/**
 * etcd's health as `etcdctl` reports it (`endpoint health`, then `endpoint status`) and the data
 * directory it runs on; a failure is an unhealthy answer, never a rejection.
 */
export async function readEtcdHealth(
  etcdctl: (args: string[]) => Promise<string>,
  dataDir: () => Promise<string>,
): Promise<EtcdHealth> {
  try {
    await etcdctl(['endpoint', 'health']);
    const status = parseEndpointStatus(await etcdctl(['endpoint', 'status', '--write-out=json']));
    return {
      healthy: true,
      version: status.version ?? null,
      revision: status.header?.revision ?? null,
      dbSizeBytes: status.dbSize ?? null,
      dataDir: await dataDir(),
      error: null,
    };
  } catch (error) {
    return etcdDown(error instanceof Error ? error.message : String(error));
  }
}

/** `etcdctl endpoint status --write-out=json` of one endpoint. */
function parseEndpointStatus(output: string): EndpointStatus['Status'] & object {
  const rows = JSON.parse(lastJsonLine(output)) as EndpointStatus[];
  return rows[0]?.Status ?? {};
}

/** `snapshot status --write-out=json`. */
export function parseSnapshotStatus(output: string): { revision: number; totalKey: number } {
  return JSON.parse(lastJsonLine(output)) as { revision: number; totalKey: number };
}

/** etcdctl logs (JSON lines on stderr) before its answer; the answer is the last line. */
export function lastJsonLine(output: string): string {
  const lines = output.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** The end of a command's output, for an error message. */
export function lastLines(output: string, lines = 3): string {
  return output.trim().split('\n').slice(-lines).join(' / ').slice(0, 500);
}
