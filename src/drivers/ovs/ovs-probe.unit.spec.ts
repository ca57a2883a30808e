import { describe, expect, it } from 'vitest';

import { ExecError, type Exec } from '../exec';
import { parseOvsVersion, probeOvs } from './ovs-probe';

type Answer = { stdout: string } | ExecError;

/** An Exec that answers each command line from a table, recording what was run. */
function fakeExec(answers: Record<string, Answer>, calls: string[] = []): Exec {
  return async (file, args) => {
    const line = [file, ...args].join(' ');
    calls.push(line);
    const answer = answers[line];
    if (!answer) throw new Error(`unexpected command: ${line}`);
    if (answer instanceof ExecError) throw answer;
    return { stdout: answer.stdout, stderr: '' };
  };
}

const failed = (command: string, args: string[], stderr: string): ExecError =>
  new ExecError(command, args, 'exit', 1, null, '', stderr, 'exited with code 1');

const VERSION = 'ovs-vsctl --version';
const SHOW = 'ovs-vsctl --timeout=3 show';
const VSWITCHD = 'ovs-appctl --timeout=3 -t ovs-vswitchd version';

describe('probeOvs', () => {
  it('is reachable when ovsdb-server and ovs-vswitchd both answer', async () => {
    const calls: string[] = [];
    const probe = await probeOvs(
      fakeExec(
        {
          [VERSION]: { stdout: 'ovs-vsctl (Open vSwitch) 3.1.0\nDB Schema 8.3.1\n' },
          [SHOW]: { stdout: 'abc\n    ovs_version: "3.1.0"\n' },
          [VSWITCHD]: { stdout: 'ovs-vswitchd (Open vSwitch) 3.1.0\n' },
        },
        calls,
      ),
    );
    expect(probe).toEqual({
      reachable: true,
      version: '3.1.0',
      detail: 'Open vSwitch 3.1.0, ovsdb-server and ovs-vswitchd answering',
    });
    expect(calls).toEqual([VERSION, SHOW, VSWITCHD]);
  });

  it('says when ovs-vsctl is not installed', async () => {
    const notFound = new ExecError(
      'ovs-vsctl',
      ['--version'],
      'not_found',
      null,
      null,
      '',
      '',
      'ENOENT',
    );
    expect(await probeOvs(fakeExec({ [VERSION]: notFound }))).toEqual({
      reachable: false,
      detail: 'ovs-vsctl is not installed',
    });
  });

  it('says when ovsdb-server does not answer', async () => {
    const probe = await probeOvs(
      fakeExec({
        [VERSION]: { stdout: 'ovs-vsctl (Open vSwitch) 3.1.0\n' },
        [SHOW]: failed(
          'ovs-vsctl',
          ['show'],
          'ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)\n',
        ),
      }),
    );
    expect(probe.reachable).toBe(false);
    expect(probe.detail).toBe(
      'ovsdb-server: ovs-vsctl show failed: ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)',
    );
  });

  it('says when ovs-vswitchd is not running', async () => {
    const probe = await probeOvs(
      fakeExec({
        [VERSION]: { stdout: 'ovs-vsctl (Open vSwitch) 3.1.0\n' },
        [SHOW]: { stdout: '' },
        [VSWITCHD]: failed(
          'ovs-appctl',
          [],
          'ovs-appctl: cannot read pidfile "/var/run/openvswitch/ovs-vswitchd.pid" (No such file or directory)\n',
        ),
      }),
    );
    expect(probe.reachable).toBe(false);
    expect(probe.detail).toMatch(
      /^ovs-vswitchd: ovs-appctl failed: ovs-appctl: cannot read pidfile/,
    );
  });
});

describe('parseOvsVersion', () => {
  it('reads the version from ovs-vsctl --version', () => {
    expect(parseOvsVersion('ovs-vsctl (Open vSwitch) 3.1.0\nDB Schema 8.3.1\n')).toBe('3.1.0');
    expect(parseOvsVersion('something else')).toBeUndefined();
  });
});
