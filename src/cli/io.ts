/** Where the CLI writes and what it reads from its environment (a test passes its own). */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** A usage error: exit code 2. */
export class UsageError extends Error {}
