/**
 * The built `nimbus` binary as a spawned process, for e2e tests:
 *
 *   await buildCli();                                   // nest build when a CLI/SDK source is newer
 *   const nimbus = cliRunner(configHome);
 *   const run = await nimbus(['volumes', 'list', '-o', 'json']);   // { code, stdout, stderr }
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
export const CLI_PATH = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function newestSource(): number {
  let newest = statSync(join(ROOT, 'src', 'sdk', 'openapi.json')).mtimeMs;
  for (const dir of ['src/cli', 'src/sdk']) {
    for (const name of readdirSync(join(ROOT, dir))) {
      newest = Math.max(newest, statSync(join(ROOT, dir, name)).mtimeMs);
    }
  }
  return newest;
}

/** Builds the binary when it is missing or older than a source of the CLI or the SDK. */
export async function buildCli(): Promise<void> {
  const built =
    existsSync(CLI_PATH) && existsSync(join(ROOT, 'dist', 'src', 'sdk', 'openapi.json'));
  if (built && statSync(CLI_PATH).mtimeMs >= newestSource()) return;
  await promisify(execFile)('npx', ['nest', 'build'], { cwd: ROOT });
}

/** Runs the binary with HOME and XDG_CONFIG_HOME at `configHome` and only PATH inherited. */
export function cliRunner(
  configHome: string,
): (args: string[], env?: Record<string, string>) => Promise<CliRun> {
  return (args, env = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI_PATH, ...args], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: configHome,
          XDG_CONFIG_HOME: configHome,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}
