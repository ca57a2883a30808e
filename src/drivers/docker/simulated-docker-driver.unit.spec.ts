import { describe, expect, it } from 'vitest';
import { snapshotReferenceOf } from './compute-driver';
import { SimulatedDockerDriver } from './simulated-docker-driver';

describe('SimulatedDockerDriver.recreateContainer', () => {
  const spec = (volumes: Array<{ volumeId: string; mountPath: string }>) => ({
    instanceId: 'i-1',
    tenantId: 't-1',
    image: 'busybox',
    limits: { NanoCpus: 1e9, Memory: 64, MemorySwap: 64 },
    volumes,
    userData: null,
  });

  it('swaps the mounts, boots from the snapshot, keeps the run state; a repeat is a no-op', async () => {
    const driver = new SimulatedDockerDriver();
    driver.addImage('busybox');
    await driver.createContainer(spec([]));
    await driver.start('i-1');
    const snapshot = snapshotReferenceOf('i-1', 'a');
    const { containerId } = await driver.recreateContainer(
      spec([{ volumeId: 'v-1', mountPath: '/data' }]),
      snapshot,
      true,
    );
    const info = await driver.inspect('i-1');
    expect(info).toMatchObject({ id: containerId, state: 'running' });
    expect(info?.mounts).toEqual([{ name: 'nimbus-vol-v-1', destination: '/data' }]);
    expect(await driver.imageInfo(snapshot)).not.toBeNull();
    const again = await driver.recreateContainer(
      spec([{ volumeId: 'v-1', mountPath: '/data' }]),
      snapshot,
      true,
    );
    expect(again.containerId).toBe(containerId);

    await driver.recreateContainer(spec([]), snapshotReferenceOf('i-1', 'b'), false);
    expect(await driver.inspect('i-1')).toMatchObject({ state: 'created', mounts: [] });
  });
});
