import { describe, expect, it } from 'vitest';

import { ExecError, execCommand } from '../../../src/drivers/exec';

async function failure(promise: Promise<unknown>): Promise<ExecError> {
  try {
    await promise;
  } catch (error: unknown) {
    if (error instanceof ExecError) return error;
    throw error;
  }
  throw new Error('expected the command to fail');
}

describe('execCommand (real processes)', () => {
  it('captures stdout and stderr of a command that exits 0', async () => {
    const result = await execCommand('sh', ['-c', 'echo out; echo err >&2']);
    expect(result).toEqual({ stdout: 'out\n', stderr: 'err\n' });
  });

  it('passes arguments as they are, never through a shell', async () => {
    const { stdout } = await execCommand('echo', ['$(id -u)', '; rm -rf /', '*', "it's"]);
    expect(stdout).toBe("$(id -u) ; rm -rf / * it's\n");
  });

  it('writes input to stdin and closes it', async () => {
    expect((await execCommand('cat', [], { input: 'hello\n' })).stdout).toBe('hello\n');
    // Without input stdin is closed at once, so a command reading it ends.
    expect((await execCommand('cat', [])).stdout).toBe('');
  });

  it('rejects a non-zero exit with the command line, exit code and stderr', async () => {
    const error = await failure(
      execCommand('sh', ['-c', 'echo partial; echo "it broke" >&2; exit 3']),
    );
    expect(error.failure).toBe('exit');
    expect(error.exitCode).toBe(3);
    expect(error.command).toBe('sh');
    expect(error.args).toEqual(['-c', 'echo partial; echo "it broke" >&2; exit 3']);
    expect(error.stdout).toBe('partial\n');
    expect(error.stderr).toBe('it broke\n');
    expect(error.message).toBe(
      `sh -c 'echo partial; echo "it broke" >&2; exit 3': exited with code 3: it broke`,
    );
  });

  it('says when the program is not installed', async () => {
    const error = await failure(execCommand('nimbus-no-such-program', ['x']));
    expect(error.failure).toBe('not_found');
    expect(error.message).toBe(
      'nimbus-no-such-program x: nimbus-no-such-program is not installed (ENOENT)',
    );
  });

  it('kills a command that outlives its timeout', async () => {
    const error = await failure(execCommand('sleep', ['30'], { timeoutMs: 200 }));
    expect(error.failure).toBe('timeout');
    expect(error.timedOut).toBe(true);
    expect(error.signal).toBe('SIGKILL');
  });

  it('fails a command that prints more than allowed', async () => {
    const error = await failure(
      execCommand('head', ['-c', '4096', '/dev/zero'], { maxBufferBytes: 1024 }),
    );
    expect(error.failure).toBe('output_too_large');
  });

  it('kills the command when aborted', async () => {
    const controller = new AbortController();
    const running = execCommand('sleep', ['30'], { signal: controller.signal });
    controller.abort();
    const error = await failure(running);
    expect(error.failure).toBe('signal');
  });
});
