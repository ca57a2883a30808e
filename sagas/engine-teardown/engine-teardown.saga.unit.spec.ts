import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/kernel/command-context';
import type { SecretStore } from '../../src/secrets/ports/secret-store';
import type { StepContext } from '../runtime/definition';
import { engineTeardownSaga } from './engine-teardown.saga';

const TENANT = '5e1f4a3e-0000-4000-8000-000000000001';
const ENGINE = '5e1f4a3e-0000-4000-8000-000000000002';

/** Given: fake ports that record what the teardown did, in order, with each command's id. */
function given() {
  const done: string[] = [];
  const commandIds: string[] = [];
  const secrets: SecretStore = {
    put: () => Promise.reject(new Error('not used')),
    reveal: () => Promise.resolve(null),
    remove: (tenantId, name, ctx) => {
      done.push(`remove secret ${name} of ${tenantId}`);
      commandIds.push(ctx.commandId);
      return Promise.resolve();
    },
  };
  const saga = engineTeardownSaga<{ engineId: string; tenantId: string }>({
    name: 'engine_delete',
    stepTimeoutMs: 1000,
    idOf: (input) => input.engineId,
    secretNameOf: (id) => `engine-${id}-password`,
    secrets,
    removeEngine: (id) => Promise.resolve(done.push(`remove engine ${id}`)),
    recordDeleted: (input, correlationId) =>
      Promise.resolve(done.push(`record ${input.engineId} deleted (${correlationId})`)),
    releaseQuota: (tenantId: string, holderId: string, ctx: CommandContext) => {
      done.push(`release quota of ${holderId} in ${tenantId}`);
      commandIds.push(ctx.commandId);
      return Promise.resolve();
    },
  });
  const context: StepContext<unknown, Record<string, unknown>> = {
    sagaName: 'engine_delete',
    sagaId: ENGINE,
    input: { engineId: ENGINE, tenantId: TENANT },
    results: {},
    attempt: 1,
    signal: new AbortController().signal,
    tenantId: TENANT,
    correlationId: 'corr-1',
    inputs: [],
  };
  const runAll = async () => {
    for (const step of saga.steps) await step.execute(context);
  };
  return { saga, done, commandIds, runAll };
}

describe('engine teardown saga', () => {
  it('removes the engine, then its password, records the deletion, then gives the quota back', async () => {
    const { saga, done, runAll } = given();
    await runAll();
    expect(saga.steps.map((s) => s.name)).toEqual([
      'remove_engine',
      'remove_credentials',
      'record_deleted',
      'release_quota',
    ]);
    expect(done).toEqual([
      `remove engine ${ENGINE}`,
      `remove secret engine-${ENGINE}-password of ${TENANT}`,
      `record ${ENGINE} deleted (corr-1)`,
      `release quota of ${ENGINE} in ${TENANT}`,
    ]);
  });

  it('is forward only, and a step run again after a crash issues the same command ids', async () => {
    const { saga, commandIds, runAll } = given();
    expect(saga.steps.every((s) => s.compensate === undefined)).toBe(true);
    await runAll();
    const first = [...commandIds];
    await runAll();
    expect(commandIds.slice(first.length)).toEqual(first);
  });
});

describe('engine teardown saga with something to keep first (a final snapshot)', () => {
  function givenKeeping() {
    const done: string[] = [];
    const saga = engineTeardownSaga<{ engineId: string; tenantId: string }>({
      name: 'engine_delete',
      stepTimeoutMs: 1000,
      idOf: (input) => input.engineId,
      secretNameOf: (id) => `engine-${id}-password`,
      secrets: {
        put: () => Promise.reject(new Error('not used')),
        reveal: () => Promise.resolve(null),
        remove: () => Promise.resolve(),
      },
      removeEngine: (id) => Promise.resolve(done.push(`remove engine ${id}`)),
      recordDeleted: () => Promise.resolve(done.push('record deleted')),
      releaseQuota: () => Promise.resolve(done.push('release quota')),
      keepFirst: {
        timeoutMs: 60_000,
        keep: (input) => Promise.resolve(done.push(`keep ${input.engineId}`)),
        abandon: (input) => Promise.resolve(done.push(`abandon the delete of ${input.engineId}`)),
      },
    });
    const context = (results: Record<string, unknown>) => ({
      sagaName: 'engine_delete',
      sagaId: ENGINE,
      input: { engineId: ENGINE, tenantId: TENANT },
      results,
      attempt: 1,
      signal: new AbortController().signal,
      tenantId: TENANT,
      correlationId: 'corr-1',
      inputs: [],
      result: null,
    });
    const step = (name: string) => {
      const found = saga.steps.find((s) => s.name === name);
      if (!found) throw new Error(`no step ${name}`);
      return found;
    };
    return { saga, done, context, step };
  }

  it('keeps first, with its own timeout, before anything is removed', async () => {
    const { saga, done, context } = givenKeeping();
    expect(saga.steps.map((s) => s.name)).toEqual([
      'begin',
      'keep',
      'remove_engine',
      'remove_credentials',
      'record_deleted',
      'release_quota',
    ]);
    expect(saga.plan.steps[1]?.timeoutMs).toBe(60_000);
    for (const s of saga.steps) await s.execute(context({}));
    expect(done[0]).toBe(`keep ${ENGINE}`);
    expect(done[1]).toBe(`remove engine ${ENGINE}`);
  });

  it('given the keep failed for good, when compensating, then the delete is abandoned and nothing removed', async () => {
    const { done, context, step } = givenKeeping();
    await step('begin').compensate?.(context({ begin: null }));
    expect(done).toEqual([`abandon the delete of ${ENGINE}`]);
  });

  it('given the keep succeeded and a later step failed for good, when compensating, then nothing is undone', async () => {
    const { done, context, step } = givenKeeping();
    await step('begin').compensate?.(context({ begin: null, keep: null, remove_engine: null }));
    expect(done).toEqual([]);
    expect(step('remove_engine').compensate).toBeUndefined();
  });
});
