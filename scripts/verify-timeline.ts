/**
 * Offline verification of a tenant timeline export (NDJSON):
 *
 *   npm run verify-timeline -- <file> [--key <public key file: PEM or JWK JSON>]
 *
 * Without --key the server's key is read from <NIMBUS_DATA_DIR>/keys/timeline-ed25519.pub.pem
 * (the public half of the key the API signs with), else the one from GET
 * /.well-known/nimbus-timeline-key saved to a file. Prints `OK ...` and exits 0, or names the first
 * line that was altered, removed or reordered and exits 1. Reads the file one line at a time.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { verifyTimelineLines, type TimelineVerdict } from '../src/timeline/domain';
import { TIMELINE_PUBLIC_KEY_FILE } from '../src/timeline/key-files';

const USAGE = 'usage: npm run verify-timeline -- <file.ndjson> [--key <public-key.pem|jwk.json>]';

export interface VerifyCliContext {
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function keyText(path: string): string {
  const text = readFileSync(path, 'utf8').trim();
  // A saved /.well-known document: take its PEM.
  if (text.startsWith('{')) {
    const doc = JSON.parse(text) as { public_key_pem?: unknown };
    if (typeof doc.public_key_pem === 'string') return doc.public_key_pem;
  }
  return text;
}

/** Returns the exit code. */
export async function runVerifyTimeline(argv: string[], ctx: VerifyCliContext): Promise<number> {
  const args = [...argv];
  let keyPath: string | undefined;
  const keyAt = args.indexOf('--key');
  if (keyAt !== -1) {
    keyPath = args[keyAt + 1];
    args.splice(keyAt, 2);
  }
  const file = args[0];
  if (!file || args.length !== 1 || (keyAt !== -1 && !keyPath)) {
    ctx.stderr.write(`${USAGE}\n`);
    return 2;
  }
  // npm runs scripts from the package root; paths are the caller's (INIT_CWD).
  const base = ctx.env.INIT_CWD ?? process.cwd();
  const dataDir = resolve(base, ctx.env.NIMBUS_DATA_DIR ?? '.nimbus');
  if (keyPath) keyPath = resolve(base, keyPath);
  const path = resolve(base, file);
  let key: string;
  try {
    key = keyText(keyPath ?? join(dataDir, 'keys', TIMELINE_PUBLIC_KEY_FILE));
  } catch (err) {
    ctx.stderr.write(`cannot read the public key: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  let verdict: TimelineVerdict;
  try {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    verdict = await verifyTimelineLines(lines, key);
  } catch (err) {
    ctx.stderr.write(`cannot verify ${file}: ${(err as Error).message}\n`);
    return 2;
  }
  if (verdict.ok) {
    ctx.stdout.write(
      `OK ${verdict.count} events of tenant ${verdict.tenant_id}, final hash ${verdict.final_hash}, signed ${verdict.signed_at} by key ${verdict.key_id}\n`,
    );
    return 0;
  }
  ctx.stdout.write(`FAILED at line ${verdict.line} (${verdict.reason}): ${verdict.message}\n`);
  return 1;
}

if (require.main === module) {
  void runVerifyTimeline(process.argv.slice(2), {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
  }).then((code) => {
    process.exitCode = code;
  });
}
