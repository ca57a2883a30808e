import { execFile, type ExecFileException } from 'node:child_process';

export interface ExecOptions {
  /** Kill the command (SIGKILL) after this many milliseconds. Default 30 s. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. Without it stdin is closed at once. */
  input?: string | Buffer;
  /** Replaces the environment when given (PATH included). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Largest stdout or stderr kept; a command printing more fails. Default 16 MiB. */
  maxBufferBytes?: number;
  /** Aborting kills the command. */
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs one program with an argument array; never through a shell. */
export type Exec = (
  file: string,
  args: readonly string[],
  options?: ExecOptions,
) => Promise<ExecResult>;

export type ExecFailure =
  'exit' | 'signal' | 'timeout' | 'not_found' | 'output_too_large' | 'spawn';

/** A command that could not run or did not exit 0. Carries everything needed to explain it. */
export class ExecError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly failure: ExecFailure,
    /** Exit code when the command exited, otherwise null. */
    readonly exitCode: number | null,
    /** Signal that ended the command, if one did. */
    readonly signal: string | null,
    readonly stdout: string,
    readonly stderr: string,
    detail: string,
  ) {
    super(`${formatCommand(command, args)}: ${detail}`);
    this.name = 'ExecError';
  }

  get timedOut(): boolean {
    return this.failure === 'timeout';
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;
const STDERR_IN_MESSAGE = 600;

/**
 * Runs `file` with `args` (no shell, so no quoting and no injection) and resolves with its
 * output when it exits 0. Anything else rejects with an ExecError naming the command line, the
 * exit code or signal, and the tail of stderr.
 */
export const execCommand: Exec = (file, args, options = {}) => {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<ExecResult>((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: options.maxBufferBytes ?? DEFAULT_MAX_BUFFER,
        encoding: 'utf8',
        windowsHide: true,
        shell: false,
        ...(options.env ? { env: options.env } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (error: ExecFileException | null, stdout: string, stderr: string) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        reject(toExecError(file, args, error, stdout ?? '', stderr ?? '', timeoutMs));
      },
    );
    // A command that reads stdin must not wait for input that never comes.
    child.stdin?.on('error', () => undefined);
    if (options.input !== undefined) {
      child.stdin?.end(options.input);
    } else {
      child.stdin?.end();
    }
  });
};

function toExecError(
  file: string,
  args: readonly string[],
  error: ExecFileException,
  stdout: string,
  stderr: string,
  timeoutMs: number,
): ExecError {
  const tail = stderrTail(stderr);
  const make = (
    failure: ExecFailure,
    exitCode: number | null,
    signal: string | null,
    detail: string,
  ): ExecError => new ExecError(file, args, failure, exitCode, signal, stdout, stderr, detail);

  if (error.code === 'ENOENT') {
    return make('not_found', null, null, `${file} is not installed (ENOENT)`);
  }
  if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
    return make('output_too_large', null, error.signal ?? null, 'printed more than allowed');
  }
  if (error.name === 'AbortError') {
    return make('signal', null, error.signal ?? 'SIGTERM', 'aborted');
  }
  if (typeof error.code === 'number') {
    return make('exit', error.code, null, `exited with code ${error.code}${tail}`);
  }
  if (error.signal) {
    if (error.killed === true) {
      return make('timeout', null, error.signal, `timed out after ${timeoutMs} ms${tail}`);
    }
    return make('signal', null, error.signal, `killed by ${error.signal}${tail}`);
  }
  return make('spawn', null, null, `could not run: ${error.message}`);
}

function stderrTail(stderr: string): string {
  const trimmed = stderr.trim();
  if (trimmed === '') return '';
  const tail =
    trimmed.length > STDERR_IN_MESSAGE ? `...${trimmed.slice(-STDERR_IN_MESSAGE)}` : trimmed;
  return `: ${tail}`;
}

/** The command line as a person would type it, for messages and logs only (never executed). */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map(quoteForDisplay).join(' ');
}

function quoteForDisplay(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
