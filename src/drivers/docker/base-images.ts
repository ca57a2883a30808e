import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Dockerode from 'dockerode';

import { ExecError, execCommand, type Exec } from '../exec';

/** The public images every tenant can boot, built locally because no registry is reachable. */
export interface BaseImage {
  /** Docker reference, as `docker run` takes it. */
  reference: string;
  /** Name shown in the image catalog. */
  name: string;
  os: 'linux';
  description: string;
}

export const BASE_IMAGES: readonly BaseImage[] = [
  {
    reference: 'nimbus/busybox:latest',
    name: 'busybox',
    os: 'linux',
    description: "BusyBox (Debian's busybox-static) with a shell and the usual applets",
  },
];

export interface BaseImagesStatus {
  /** True when every base image is present in the engine. */
  ready: boolean;
  present: string[];
  missing: string[];
  detail: string;
}

const SCRIPT_RELATIVE = join('docker', 'build-base-images.sh');
const BUILD_TIMEOUT_MS = 180_000;

/**
 * Finds docker/build-base-images.sh above `startDir` (this file lives in src/drivers/docker, or
 * dist/src/drivers/docker once built).
 */
export function findBaseImageScript(startDir: string = __dirname): string | undefined {
  let dir = startDir;
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, SCRIPT_RELATIVE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

export interface BaseImagesOptions {
  exec?: Exec;
  /** Path of build-base-images.sh; found from this file's location when omitted. */
  scriptPath?: string;
  /** Extra environment for the script (NIMBUS_BUSYBOX, DOCKER). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Makes sure the base images exist in the engine, building them with docker/build-base-images.sh
 * (idempotent: it returns at once when the images are current). Only for a real Docker.
 */
export async function ensureBaseImages(
  docker: Dockerode,
  options: BaseImagesOptions = {},
): Promise<BaseImagesStatus> {
  const exec = options.exec ?? execCommand;
  const script = options.scriptPath ?? findBaseImageScript();
  let buildProblem: string | undefined;
  if (!script) {
    buildProblem = `${SCRIPT_RELATIVE} not found`;
  } else {
    try {
      await exec('bash', [script], {
        timeoutMs: BUILD_TIMEOUT_MS,
        env: { ...process.env, ...options.env },
      });
    } catch (error: unknown) {
      buildProblem =
        error instanceof ExecError
          ? lastLine(error.stderr) || error.message
          : error instanceof Error
            ? error.message
            : String(error);
    }
  }
  const status = await inspectBaseImages(docker);
  if (buildProblem && !status.ready) {
    return { ...status, detail: `${status.detail}; building them failed: ${buildProblem}` };
  }
  return status;
}

/** Which base images the engine has, without building anything. */
export async function inspectBaseImages(docker: Dockerode): Promise<BaseImagesStatus> {
  const present: string[] = [];
  const missing: string[] = [];
  for (const image of BASE_IMAGES) {
    try {
      await docker.getImage(image.reference).inspect();
      present.push(image.reference);
    } catch {
      missing.push(image.reference);
    }
  }
  const ready = missing.length === 0;
  return {
    ready,
    present,
    missing,
    detail: ready
      ? `base images present: ${present.join(', ')}`
      : `base images missing: ${missing.join(', ')}`,
  };
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}
