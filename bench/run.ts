/**
 * Runs the benchmarks, compiled by the `bench` npm scripts into .nimbus/bench-build:
 * `npm run bench` runs every bench/*.bench.ts, `npm run bench -- eventstore` (or
 * `npm run bench:eventstore`) only the named ones. Each bench runs in its own Node process, one
 * after the other, so that they do not compete for the CPU.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const buildDir = __dirname;

function available(): string[] {
  return readdirSync(join(root, 'bench'))
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
    .sort();
}

function runOne(name: string): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(buildDir, `${name}.bench.js`)], {
      cwd: root,
      stdio: 'inherit',
      env: process.env,
    });
    child.on('exit', (status, signal) => done(status ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<void> {
  const all = available();
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(', ')} (available: ${all.join(', ')})`);
    process.exitCode = 2;
    return;
  }
  let failed = 0;
  for (const name of requested.length > 0 ? requested : all) {
    console.log(`\n== bench: ${name} ==`);
    const code = await runOne(name);
    if (code !== 0) {
      console.error(`bench ${name} exited with ${code}`);
      failed++;
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

void main();
