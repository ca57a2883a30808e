import type { CommandContext } from '../../src/kernel/command-context';
import type { SecretStore } from '../../src/secrets/ports/secret-store';
import {
  defineSaga,
  sagaCommandContext,
  type SagaDefinition,
  type SagaDefinitionSpec,
} from '../runtime/definition';

interface TeardownResults extends Record<string, unknown> {
  begin: null;
  keep: null;
  remove_engine: null;
  remove_credentials: null;
  record_deleted: null;
  release_quota: null;
}

/** One managed engine's teardown: what differs between a cache and a database. */
export interface EngineTeardown<TInput extends { tenantId: string }> {
  name: string;
  /** The events that start an instance (see `SagaDefinitionSpec.startedBy`). */
  startedBy?: SagaDefinitionSpec<TInput, TeardownResults>['startedBy'];
  stepTimeoutMs: number;
  /** The resource id the saga instance is named by (`saga_<name>-<id>`). */
  idOf(input: TInput): string;
  secretNameOf(id: string): string;
  secrets: SecretStore;
  removeEngine(id: string): Promise<unknown>;
  recordDeleted(input: TInput, correlationId: string): Promise<unknown>;
  releaseQuota(tenantId: string, holderId: string, ctx: CommandContext): Promise<unknown>;
  /**
   * What must be kept before anything is removed (a database's final snapshot): run first, as
   * step `keep`; when it fails for good nothing has been removed, and `abandon` undoes the delete
   * (the resource runs on). A failure after it is forward only, as without it.
   */
  keepFirst?: {
    timeoutMs: number;
    keep(input: TInput, run: TeardownRun): Promise<unknown>;
    abandon(input: TInput, run: TeardownRun): Promise<unknown>;
  };
}

/** Which teardown runs: a resource deleted again after an abandoned delete has a second one. */
export interface TeardownRun {
  sagaId: string;
  correlationId: string;
}

type TeardownStep<TInput> = SagaDefinitionSpec<TInput, TeardownResults>['steps'][number];

function keepSteps<TInput extends { tenantId: string }>(
  t: EngineTeardown<TInput>,
): TeardownStep<TInput>[] {
  const keepFirst = t.keepFirst;
  if (!keepFirst) return [];
  return [
    {
      name: 'begin',
      execute: () => Promise.resolve(null),
      async compensate({ input, results, sagaId, correlationId }) {
        if ('keep' in results) return;
        await keepFirst.abandon(input, { sagaId, correlationId });
      },
    },
    {
      name: 'keep',
      timeoutMs: keepFirst.timeoutMs,
      async execute({ input, sagaId, correlationId }) {
        await keepFirst.keep(input, { sagaId, correlationId });
        return null;
      },
    },
  ];
}

/**
 * Teardown of a managed engine (a cache's or a database's delete saga), started once its
 * deletion is recorded. Each step idempotent and retried: what must be kept kept (`keepFirst`),
 * then, forward only, the containers removed, the managed password deleted, the resource gone,
 * its quota given back.
 */
export function engineTeardownSaga<TInput extends { tenantId: string }>(
  t: EngineTeardown<TInput>,
): SagaDefinition<TInput> {
  const contextOf = (input: TInput, purpose: string, correlationId: string) =>
    sagaCommandContext(t.name, t.idOf(input), purpose, { tenantId: input.tenantId, correlationId });
  return defineSaga<TInput, TeardownResults>({
    name: t.name,
    startedBy: t.startedBy,
    retry: { maxAttempts: 10, initialDelayMs: 200, maxDelayMs: 5000 },
    stepTimeoutMs: t.stepTimeoutMs,
    steps: [
      ...keepSteps(t),
      {
        name: 'remove_engine',
        async execute({ input }) {
          await t.removeEngine(t.idOf(input));
          return null;
        },
      },
      {
        name: 'remove_credentials',
        async execute({ input, correlationId }) {
          const id = t.idOf(input);
          const ctx = contextOf(input, 'remove_password', correlationId);
          await t.secrets.remove(input.tenantId, t.secretNameOf(id), ctx);
          return null;
        },
      },
      {
        name: 'record_deleted',
        async execute({ input, correlationId }) {
          await t.recordDeleted(input, correlationId);
          return null;
        },
      },
      {
        name: 'release_quota',
        async execute({ input, correlationId }) {
          const ctx = contextOf(input, 'release_quota', correlationId);
          await t.releaseQuota(input.tenantId, t.idOf(input), ctx);
          return null;
        },
      },
    ],
  });
}
