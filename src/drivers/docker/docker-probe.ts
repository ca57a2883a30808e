import type Dockerode from 'dockerode';

import type { ProbeResult } from '../detection';
import { withTimeout } from '../timeout';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
const PROBE_TIMEOUT_MS = 3_000;

/** Asks the engine behind `docker` for a ping and its version. Never throws. */
export async function probeDocker(
  docker: Dockerode,
  where: string = DEFAULT_DOCKER_SOCKET,
  timeoutMs: number = PROBE_TIMEOUT_MS,
): Promise<ProbeResult> {
  try {
    await withTimeout(docker.ping(), timeoutMs, `no answer to ping within ${timeoutMs} ms`);
    const version = await withTimeout(
      docker.version(),
      timeoutMs,
      `no answer to version within ${timeoutMs} ms`,
    );
    return {
      reachable: true,
      version: version.Version,
      detail: `Docker Engine ${version.Version} (API ${version.ApiVersion}) at ${where}`,
    };
  } catch (error: unknown) {
    return { reachable: false, detail: `${where}: ${errorText(error)}` };
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${code} ${error.message}`
      : error.message;
  }
  return String(error);
}
