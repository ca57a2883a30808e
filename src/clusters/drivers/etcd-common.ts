/** What both etcd adapters (the local driver's container, kubeadm's static pods) share. */

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

/** `etcdctl endpoint status --write-out=json` of one endpoint. */
export function parseEndpointStatus(output: string): EndpointStatus['Status'] & object {
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
