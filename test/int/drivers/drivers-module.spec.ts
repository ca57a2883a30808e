import { Module, type INestApplicationContext } from '@nestjs/common';
import { DiscoveryModule, NestFactory } from '@nestjs/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { DetectedDrivers } from '../../../src/drivers/detection';
import type { DriverModes } from '../../../src/drivers/driver-modes';
import { DriversModule } from '../../../src/drivers/drivers.module';
import { DETECTED_DRIVERS } from '../../../src/drivers/tokens';
import { ReadinessService } from '../../../src/health/readiness';
import { realDocker, realOvn, realOvs } from './real-backends';

const docker = realDocker();
const ovs = realOvs();
const ovn = realOvn();

@Module({ imports: [DiscoveryModule], providers: [ReadinessService], exports: [ReadinessService] })
class ReadinessTestModule {}

async function boot(
  modes: DriverModes,
  dockerSocketPath?: string,
): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(
    {
      module: class DriversTestRoot {},
      imports: [
        ReadinessTestModule,
        DriversModule.forRoot({ modes, ...(dockerSocketPath ? { dockerSocketPath } : {}) }),
      ],
    },
    { logger: false, abortOnError: false },
  );
  await app.init();
  return app;
}

describe('DriversModule', () => {
  let app: INestApplicationContext | undefined;

  beforeAll(async () => {
    await Promise.all([docker.probe(), ovs.probe(), ovn.probe()]);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('with every driver simulated, reports SIMULATED for docker, ovs and ovn', async () => {
    app = await boot({ docker: 'simulated', ovs: 'simulated', ovn: 'simulated' });
    const detected = app.get<DetectedDrivers>(DETECTED_DRIVERS);
    expect(detected.docker.active).toBe('simulated');
    expect(detected.ovs.active).toBe('simulated');
    const report = await app.get(ReadinessService).report();
    expect(report.status).toBe('UP');
    expect(report.checks).toEqual({ docker: 'SIMULATED', ovs: 'SIMULATED', ovn: 'SIMULATED' });
    expect(report.details).toEqual({
      docker: 'NIMBUS_DOCKER=simulated',
      ovs: 'NIMBUS_OVS=simulated',
      ovn: 'NIMBUS_OVN=simulated',
    });
  });

  it('refuses to start when NIMBUS_DOCKER=docker and no engine answers', async () => {
    await expect(
      boot(
        { docker: 'docker', ovs: 'simulated', ovn: 'simulated' },
        '/tmp/nimbus-no-docker-here.sock',
      ),
    ).rejects.toThrow(/^NIMBUS_DOCKER=docker but Docker is not reachable/);
  });

  it('in auto mode with no engine behind the socket, falls back to simulated and says why', async () => {
    app = await boot(
      { docker: 'auto', ovs: 'simulated', ovn: 'simulated' },
      '/tmp/nimbus-no-docker-here.sock',
    );
    const detected = app.get<DetectedDrivers>(DETECTED_DRIVERS);
    expect(detected.docker.active).toBe('simulated');
    expect(detected.docker.reason).toMatch(
      /^NIMBUS_DOCKER=auto and Docker is not reachable \(\/tmp\/nimbus-no-docker-here\.sock: /,
    );
  });

  it('in auto mode on a machine with Docker, OVS and OVN, reports all CONNECTED and the base images present', async (ctx) => {
    docker.require(ctx);
    ovs.require(ctx);
    ovn.require(ctx);
    app = await boot({ docker: 'auto', ovs: 'auto', ovn: 'auto' });
    const detected = app.get<DetectedDrivers>(DETECTED_DRIVERS);
    expect(detected.docker.active).toBe('docker');
    expect(detected.ovs.active).toBe('ovs');
    expect(detected.ovn.active).toBe('ovn');
    const report = await app.get(ReadinessService).report();
    expect(report.checks).toEqual({ docker: 'CONNECTED', ovs: 'CONNECTED', ovn: 'CONNECTED' });
    expect(report.details?.ovn).toMatch(
      /^OVN \S+, ovn-northd and ovn-controller answering, chassis /,
    );
    expect(report.status).toBe('UP');
    expect(report.details?.docker).toContain('base images present: nimbus/busybox:latest');
  });
});
