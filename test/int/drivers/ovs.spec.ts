import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { detectDrivers } from '../../../src/drivers/detection';
import { probeDocker } from '../../../src/drivers/docker/docker-probe';
import { ExecError, execCommand } from '../../../src/drivers/exec';
import { probeOvn } from '../../../src/drivers/ovn/ovn-probe';
import { probeOvs } from '../../../src/drivers/ovs/ovs-probe';
import { dockerClient, realOvs } from './real-backends';

const ovs = realOvs();

describe('Open vSwitch driver foundations (real OVS)', () => {
  // Linux interface names hold at most 15 characters.
  const bridge = `ntst${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    await ovs.probe();
  });

  afterAll(async () => {
    await execCommand('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', bridge]).catch(
      () => undefined,
    );
  });

  it('detection picks the real Open vSwitch in auto mode and names its version', async (ctx) => {
    ovs.require(ctx);
    const detected = await detectDrivers(
      { docker: 'simulated', ovs: 'auto', ovn: 'simulated' },
      {
        docker: () => probeDocker(dockerClient()),
        ovs: () => probeOvs(),
        ovn: () => probeOvn(),
      },
    );
    expect(detected.ovs.active).toBe('ovs');
    expect(detected.ovs.version).toMatch(/^\d+\.\d+/);
  });

  it('creates and deletes a userspace (netdev) bridge', async (ctx) => {
    ovs.require(ctx);
    expect(bridge.length).toBeLessThanOrEqual(15);
    await execCommand('ovs-vsctl', [
      '--timeout=10',
      '--may-exist',
      'add-br',
      bridge,
      '--',
      'set',
      'bridge',
      bridge,
      'datapath_type=netdev',
    ]);
    await execCommand('ovs-vsctl', ['--timeout=10', 'br-exists', bridge]);
    const { stdout } = await execCommand('ovs-vsctl', [
      '--timeout=10',
      'get',
      'bridge',
      bridge,
      'datapath_type',
    ]);
    expect(stdout.trim()).toBe('netdev');
    const link = await execCommand('ip', ['-o', 'link', 'show', 'dev', bridge]);
    expect(link.stdout).toContain(bridge);

    await execCommand('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', bridge]);
    // br-exists answers 2 for a bridge that does not exist.
    const gone = await execCommand('ovs-vsctl', ['--timeout=10', 'br-exists', bridge]).then(
      () => null,
      (error: unknown) => error,
    );
    expect(gone).toBeInstanceOf(ExecError);
    expect((gone as ExecError).exitCode).toBe(2);
  });
});
