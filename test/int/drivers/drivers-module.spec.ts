import { Module, type INestApplicationContext } from '@nestjs/common';
import { DiscoveryModule, NestFactory } from '@nestjs/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { DetectedDrivers } from '../../../src/drivers/detection';
import type { DriverModes } from '../../../src/drivers/driver-modes';
import { DriversModule } from '../../../src/drivers/drivers.module';
import { DETECTED_DRIVERS } from '../../../src/drivers/tokens';
import { ReadinessService } from '../../../src/health/readiness';
import { realDocker, realOvs } from './real-backends';

const docker = realDocker();
const ovs = realOvs();

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
    await Promise.all([docker.probe(), ovs.probe()]);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('with both drivers simulated, reports SIMULATED for docker and ovs', async () => {
    app = await boot({ docker: 'simulated', ovs: 'simulated' });
    const detected = app.get<DetectedDrivers>(DETECTED_DRIVERS);
    expect(detected.docker.active).toBe('simulated');
    expect(detected.ovs.active).toBe('simulated');
    const report = await app.get(ReadinessService).report();
    expect(report.status).toBe('UP');
    expect(report.checks).toEqual({ docker: 'SIMULATED', ovs: 'SIMULATED' });
    expect(report.details).toEqual({
      docker: 'NIMBUS_DOCKER=simulated',
      ovs: 'NIMBUS_OVS=simulated',
    });
  });

  it('refuses to start when NIMBUS_DOCKER=docker and no engine answers', async () => {
    await expect(
      boot({ docker: 'docker', ovs: 'simulated' }, '/tmp/nimbus-no-docker-here.sock'),
    ).rejects.toThrow(/^NIMBUS_DOCKER=docker but Docker is not reachable/);
  });

  it('in auto mode with no engine behind the socket, falls back to simulated and says why', async () => {
    app = await boot({ docker: 'auto', ovs: 'simulated' }, '/tmp/nimbus-no-docker-here.sock');
    const detected = app.get<DetectedDrivers>(DETECTED_DRIVERS);
    expect(detected.docker.active).toBe('simulated');
    expect(detected.docker.reason).toMatch(
      /^NIMBUS_DOCKER=auto and Docker is not reachable \(\/tmp\/nimbus-no-docker-here\.sock: /,
    );
  });

  it('in auto mode on a machine with Docker and OVS, reports both CONNECTED and the base images present', async (ctx) => {
    docker.require(ctx);
    ovs.require(ctx);
    app = await boot({ docker: 'auto', ovs: 'auto' });
    const detected = app.get<DetectedDrivers>(DETECTED_DRIVERS);
    expect(detected.docker.active).toBe('docker');
    expect(detected.ovs.active).toBe('ovs');
    const report = await app.get(ReadinessService).report();
    expect(report.checks).toEqual({ docker: 'CONNECTED', ovs: 'CONNECTED' });
    expect(report.status).toBe('UP');
    expect(report.details?.docker).toContain('base images present: nimbus/busybox:latest');
  });
});
