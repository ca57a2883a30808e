import { Inject, Injectable } from '@nestjs/common';
import type Dockerode from 'dockerode';

import {
  ReadinessCheckProvider,
  type ReadinessCheck,
  type ReadinessResult,
} from '../health/readiness';
import { BaseImagesService } from './base-images.service';
import type { DetectedDrivers } from './detection';
import { probeDocker } from './docker/docker-probe';
import type { Exec } from './exec';
import { probeOvn } from './ovn/ovn-probe';
import { probeOvs } from './ovs/ovs-probe';
import { DETECTED_DRIVERS, DOCKER_CLIENT, DRIVERS_OPTIONS, EXEC } from './tokens';
import type { DriversModuleOptions } from './drivers.options';

const READINESS_PROBE_TIMEOUT_MS = 2_000;

/** `docker` in /health/ready: CONNECTED, SIMULATED or DISCONNECTED. */
@Injectable()
@ReadinessCheckProvider()
export class DockerReadiness implements ReadinessCheck {
  readonly name = 'docker';

  constructor(
    @Inject(DETECTED_DRIVERS) private readonly drivers: DetectedDrivers,
    @Inject(DOCKER_CLIENT) private readonly docker: Dockerode,
    @Inject(DRIVERS_OPTIONS) private readonly options: DriversModuleOptions,
    private readonly baseImages: BaseImagesService,
  ) {}

  async check(): Promise<ReadinessResult> {
    const selection = this.drivers.docker;
    if (selection.active === 'simulated') {
      return { status: 'SIMULATED', ok: true, detail: selection.reason };
    }
    const probe = await probeDocker(
      this.docker,
      this.options.dockerSocketPath,
      READINESS_PROBE_TIMEOUT_MS,
    );
    if (!probe.reachable) {
      return { status: 'DISCONNECTED', ok: false, detail: probe.detail };
    }
    const images = this.baseImages.status();
    return {
      status: 'CONNECTED',
      ok: true,
      detail: images ? `${probe.detail}; ${images.detail}` : probe.detail,
    };
  }
}

/** `ovs` in /health/ready: CONNECTED, SIMULATED or DISCONNECTED. */
@Injectable()
@ReadinessCheckProvider()
export class OvsReadiness implements ReadinessCheck {
  readonly name = 'ovs';

  constructor(
    @Inject(DETECTED_DRIVERS) private readonly drivers: DetectedDrivers,
    @Inject(EXEC) private readonly exec: Exec,
  ) {}

  async check(): Promise<ReadinessResult> {
    return probedReadiness(this.drivers.ovs, () => probeOvs(this.exec));
  }
}

/**
 * `ovn` in /health/ready: CONNECTED (databases, northd, controller and this host's chassis
 * answer), SIMULATED or DISCONNECTED.
 */
@Injectable()
@ReadinessCheckProvider()
export class OvnReadiness implements ReadinessCheck {
  readonly name = 'ovn';

  constructor(
    @Inject(DETECTED_DRIVERS) private readonly drivers: DetectedDrivers,
    @Inject(EXEC) private readonly exec: Exec,
  ) {}

  async check(): Promise<ReadinessResult> {
    return probedReadiness(this.drivers.ovn, () => probeOvn(this.exec));
  }
}

/** A simulated selection is SIMULATED; otherwise the probe decides CONNECTED or DISCONNECTED. */
async function probedReadiness(
  selection: { active: string; reason: string },
  probe: () => Promise<{ reachable: boolean; detail: string }>,
): Promise<ReadinessResult> {
  if (selection.active === 'simulated') {
    return { status: 'SIMULATED', ok: true, detail: selection.reason };
  }
  const result = await probe();
  return result.reachable
    ? { status: 'CONNECTED', ok: true, detail: result.detail }
    : { status: 'DISCONNECTED', ok: false, detail: result.detail };
}
