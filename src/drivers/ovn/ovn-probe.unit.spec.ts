import { describe, expect, it } from 'vitest';

import { ExecError, type Exec } from '../exec';
import { parseOvnVersion, probeOvn } from './ovn-probe';

type Answer = { stdout: string } | ExecError;

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

const failed = (command: string, stderr: string): ExecError =>
  new ExecError(command, [], 'exit', 1, null, '', stderr, 'exited with code 1');

const VERSION = 'ovn-nbctl --version';
const NB = 'ovn-nbctl --timeout=3 --bare --columns=_uuid list NB_Global';
const NORTHD = 'ovn-appctl --timeout=3 -t ovn-northd version';
const CONTROLLER = 'ovn-appctl --timeout=3 -t ovn-controller version';
const SYSTEM_ID = 'ovs-vsctl --timeout=3 --if-exists get open . external-ids:system-id';
const CHASSIS = 'ovn-sbctl --timeout=3 --bare --columns=name find chassis name="abc"';

const healthy: Record<string, Answer> = {
  [VERSION]: { stdout: 'ovn-nbctl 23.03.1\nOpen vSwitch Library 3.1.0\nDB Schema 7.0.0\n' },
  [NB]: { stdout: 'd7137f72-0e59-4b9e-826d-6eae4df12abe\n' },
  [NORTHD]: { stdout: 'ovn-northd 23.03.1\n' },
  [CONTROLLER]: { stdout: 'ovn-controller 23.03.1\n' },
  [SYSTEM_ID]: { stdout: '"abc"\n' },
  [CHASSIS]: { stdout: 'abc\n' },
};

describe('probeOvn', () => {
  it('is reachable when the databases, northd, the controller and this chassis answer', async () => {
    const calls: string[] = [];
    expect(await probeOvn(fakeExec(healthy, calls))).toEqual({
      reachable: true,
      version: '23.03.1',
      detail: 'OVN 23.03.1, ovn-northd and ovn-controller answering, chassis abc',
    });
    expect(calls).toEqual([VERSION, NB, NORTHD, CONTROLLER, SYSTEM_ID, CHASSIS]);
  });

  it('says when OVN is not installed', async () => {
    const notFound = new ExecError(
      'ovn-nbctl',
      ['--version'],
      'not_found',
      null,
      null,
      '',
      '',
      'ENOENT',
    );
    expect(await probeOvn(fakeExec({ [VERSION]: notFound }))).toEqual({
      reachable: false,
      detail: 'ovn-nbctl is not installed',
    });
  });

  it('names the part that does not answer', async () => {
    const probe = await probeOvn(
      fakeExec({
        ...healthy,
        [CONTROLLER]: failed(
          'ovn-appctl',
          'ovn-appctl: cannot read pidfile "/var/run/ovn/ovn-controller.pid"\n',
        ),
      }),
    );
    expect(probe.reachable).toBe(false);
    expect(probe.detail).toMatch(
      /^ovn-controller: ovn-appctl failed: ovn-appctl: cannot read pidfile/,
    );
  });

  it('is not reachable while this host has no chassis in the southbound database', async () => {
    const probe = await probeOvn(fakeExec({ ...healthy, [CHASSIS]: { stdout: '' } }));
    expect(probe).toEqual({
      reachable: false,
      detail: 'chassis abc is not in the southbound database',
    });
  });

  it('reads the version', () => {
    expect(parseOvnVersion('ovn-nbctl 23.03.1\nOpen vSwitch Library 3.1.0\n')).toBe('23.03.1');
    expect(parseOvnVersion('nothing')).toBeUndefined();
  });
});
