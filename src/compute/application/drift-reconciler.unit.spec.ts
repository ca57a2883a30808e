import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../drivers/docker/compute-driver';
import { observationOf } from './drift-reconciler';

const info = (state: ContainerInfo['state'], exitCode: number | null = null): ContainerInfo => ({
  id: 'c',
  instanceId: 'i',
  tenantId: 't',
  state,
  exitCode,
  nanoCpus: 0,
  memoryBytes: 0,
  labels: {},
});

describe('observationOf (engine state -> drift observation)', () => {
  it.each([
    [null, { state: 'missing' }],
    [info('running'), { state: 'running' }],
    [info('restarting'), { state: 'running' }],
    [info('paused'), { state: 'paused' }],
    [info('removing'), { state: 'missing' }],
    [info('exited', 137), { state: 'exited', exitCode: 137 }],
    [info('created'), { state: 'exited', exitCode: null }],
    [info('dead', 1), { state: 'exited', exitCode: 1 }],
  ] as const)('%j -> %j', (given, expected) => {
    expect(observationOf(given)).toEqual(expected);
  });
});
