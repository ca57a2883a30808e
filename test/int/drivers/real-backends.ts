import Dockerode from 'dockerode';
import type { TestContext } from 'vitest';

import type { ProbeResult } from '../../../src/drivers/detection';
import { DEFAULT_DOCKER_SOCKET, probeDocker } from '../../../src/drivers/docker/docker-probe';
import { probeOvn } from '../../../src/drivers/ovn/ovn-probe';
import { probeOvs } from '../../../src/drivers/ovs/ovs-probe';

export const isCI = process.env.CI === 'true' || process.env.CI === '1';

type BackendKind = 'docker' | 'ovs' | 'ovn';

const HOW_TO_START: Record<BackendKind, string> = {
  docker: 'dockerd --iptables=false --bridge=none --storage-driver=vfs &  (as .ci/run does)',
  ovs: '/usr/share/openvswitch/scripts/ovs-ctl start --system-id=random  (as .ci/run does)',
  ovn: 'the "ovn" section of .ci/run (ovn-ctl start_northd, start_controller, br-int)',
};

/**
 * A real Docker or Open vSwitch that tests need. Probe it in beforeAll, then start each test
 * with `backend.require(ctx)`: under CI=true a missing backend fails the test, otherwise the
 * test is skipped, loudly, with the command that would start the backend.
 */
export class RealBackend {
  private result: ProbeResult | undefined;
  private warned = false;

  constructor(
    readonly kind: BackendKind,
    private readonly probeFn: () => Promise<ProbeResult>,
  ) {}

  async probe(): Promise<ProbeResult> {
    this.result ??= await this.probeFn();
    return this.result;
  }

  require(ctx: TestContext): void {
    const result = this.result;
    if (!result) throw new Error(`probe() the ${this.kind} backend in beforeAll first`);
    if (result.reachable) return;
    const message = `${this.kind} is not reachable: ${result.detail}. Start it with: ${HOW_TO_START[this.kind]}`;
    if (isCI) throw new Error(`${message} (required under CI=true)`);
    if (!this.warned) {
      this.warned = true;
      console.warn(`\n[drivers] SKIPPING the tests that need ${this.kind}: ${message}\n`);
    }
    ctx.skip(`${this.kind} not reachable`);
  }
}

export function dockerClient(): Dockerode {
  return new Dockerode({ socketPath: DEFAULT_DOCKER_SOCKET });
}

export function realDocker(): RealBackend {
  return new RealBackend('docker', () => probeDocker(dockerClient()));
}

export function realOvs(): RealBackend {
  return new RealBackend('ovs', () => probeOvs());
}

/** The installation the integration tests' Docker drivers act as (parents and crash children). */
export const TEST_INSTALLATION_ID = '00000000-0000-4000-8000-00000000c0de';

export function realOvn(): RealBackend {
  return new RealBackend('ovn', () => probeOvn());
}

/** Removes every volume carrying the label `key=value` (after its containers): a test's leftovers. */
export async function removeLabelledVolumes(key: string, value: string): Promise<void> {
  const client = dockerClient();
  const { Volumes: volumes } = await client.listVolumes({
    filters: { label: [`${key}=${value}`] },
  });
  for (const v of volumes ?? []) {
    await client
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
  }
}

/** Removes every container (running or not) carrying the label `key=value`: a test's leftovers. */
export async function removeLabelledContainers(key: string, value: string): Promise<void> {
  const client = dockerClient();
  const leftovers = await client.listContainers({
    all: true,
    filters: { label: [`${key}=${value}`] },
  });
  for (const c of leftovers) {
    await client
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}
