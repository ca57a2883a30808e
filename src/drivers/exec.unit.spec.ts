import { describe, expect, it } from 'vitest';

import { ExecError, formatCommand } from './exec';

describe('formatCommand', () => {
  it('shows plain words as they are and quotes the rest', () => {
    expect(
      formatCommand('ovs-vsctl', [
        '--may-exist',
        'add-br',
        'br0',
        '--',
        'set',
        'bridge',
        'br0',
        'datapath_type=netdev',
      ]),
    ).toBe('ovs-vsctl --may-exist add-br br0 -- set bridge br0 datapath_type=netdev');
    expect(formatCommand('sh', ['-c', "echo 'hi' there"])).toBe(`sh -c 'echo '\\''hi'\\'' there'`);
    expect(formatCommand('echo', [''])).toBe(`echo ''`);
  });
});

describe('ExecError', () => {
  it('names the command line in its message and exposes how it failed', () => {
    const error = new ExecError(
      'docker',
      ['rm', 'x y'],
      'timeout',
      null,
      'SIGKILL',
      '',
      '',
      'timed out after 5 ms',
    );
    expect(error.message).toBe(`docker rm 'x y': timed out after 5 ms`);
    expect(error.timedOut).toBe(true);
    expect(error.exitCode).toBeNull();
  });
});
