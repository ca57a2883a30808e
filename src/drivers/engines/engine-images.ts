/**
 * The engine images (nimbus/redis:7, nimbus/postgres:15...), built by docker/build-engine-images.sh
 * (debootstrap, no registry). A first start that lacks them builds them in the background, once
 * per process; provisioning waits for that build instead of failing at once.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { execCommand, ExecError, type Exec } from '../exec';

const SCRIPT_RELATIVE = join('docker', 'build-engine-images.sh');
const BUILD_TIMEOUT_MS = 15 * 60_000;

export function findEngineImageScript(startDir: string = __dirname): string | undefined {
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

export interface EngineImageSource {
  /** Resolves once `reference` is present, building the engine images if needed; rejects when it cannot be. */
  ensure(reference: string): Promise<void>;
}

export class EngineImages implements EngineImageSource {
  private build: Promise<void> | null = null;

  constructor(
    private readonly present: (reference: string) => Promise<boolean>,
    private readonly exec: Exec = execCommand,
    private readonly script: string | undefined = findEngineImageScript(),
  ) {}

  async ensure(reference: string): Promise<void> {
    if (await this.present(reference)) return;
    this.build ??= this.runBuild().finally(() => {
      this.build = null;
    });
    await this.build;
    if (!(await this.present(reference))) {
      throw new Error(`image ${reference} is still missing after ${SCRIPT_RELATIVE} ran`);
    }
  }

  private async runBuild(): Promise<void> {
    if (!this.script)
      throw new Error(`${SCRIPT_RELATIVE} not found: cannot build the engine images`);
    try {
      await this.exec('bash', [this.script], { timeoutMs: BUILD_TIMEOUT_MS });
    } catch (error) {
      const detail =
        error instanceof ExecError
          ? error.stderr.trim().split('\n').slice(-3).join(' / ')
          : String(error);
      throw new Error(`building the engine images failed: ${detail}`, { cause: error });
    }
  }
}
