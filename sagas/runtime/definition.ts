import { AppError } from '../../src/common/errors/app-error';
import type { ErrorCode } from '../../src/common/errors/error-codes';
import type { EventStore, RecordedEvent } from '../../src/eventstore/event-store';
import type { RetryPolicy } from '../../src/kernel/retry';
import { uuidV5 } from '../../src/common/ids';
import type { CommandContext } from '../../src/kernel/command-context';
import { systemContext } from '../../src/platform/commands/system-context';

/**
 * Defining a saga (a durable process manager).
 *
 * A saga is a fixed, ordered list of steps run for one instance (`saga_<name>-<id>`), started by
 * an event from `$all` (see `triggers` and `startedBy`) or directly by a command handler
 * (`SagaLauncher.start`). A saga a command handler starts also names the event that handler
 * appended in `startedBy`: the handler's start is the fast path, the event the durable one, so a
 * process that dies between the append and the start loses nothing.
 * The runtime records every decision in the instance's own stream before acting on it, so after
 * a crash it knows which steps finished and which one was in flight.
 *
 * **Steps must be idempotent.** A step that was started but whose outcome was never recorded (the
 * process died, the step timed out) is run again: `execute` must be create-if-absent (look the
 * resource up by a name derived from the saga id before creating it) and `compensate` must be
 * delete-if-present. The runtime guarantees one driver per instance at a time, never exactly-once
 * execution of a step's code.
 *
 * Step results are stored in the saga stream as JSON: return plain data (ids, names), never
 * class instances, Dates or bigints.
 */

/** Retry policy of a step's `execute` or `compensate`. */
export type { RetryPolicy };

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 200,
  maxDelayMs: 30_000,
  multiplier: 2,
};

/** Compensations must eventually succeed: they get more patience before a human is needed. */
export const DEFAULT_COMPENSATION_RETRY: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 500,
  maxDelayMs: 60_000,
  multiplier: 2,
};

export const DEFAULT_STEP_TIMEOUT_MS = 5 * 60_000;

/** What a step sees when it runs. */
export interface StepContext<TInput, TResults> {
  sagaName: string;
  /** The instance id (the `<id>` of `saga_<name>-<id>`). */
  sagaId: string;
  input: TInput;
  /** Results of the steps that succeeded so far, by step name. */
  results: Partial<TResults>;
  /** 1 for the first attempt of this step (or of its compensation). */
  attempt: number;
  /** Aborted when the step's timeout passes or the runtime stops: stop work and reject. */
  signal: AbortSignal;
  /** Tenant and correlation of the event or command that started the saga. */
  tenantId: string | null;
  correlationId: string;
  /** Events from `$all` fed to this instance after it started (see `triggers`). */
  inputs: readonly SagaInputEvent[];
}

export interface SagaInputEvent {
  eventId: string;
  type: string;
  data: unknown;
}

export interface SagaStep<TInput, TResults, K extends keyof TResults & string> {
  name: K;
  /** Does the work; must be idempotent (create-if-absent). Its result is stored as JSON. */
  execute(ctx: StepContext<TInput, TResults>): Promise<TResults[K]>;
  /** Undoes the work; must be idempotent (delete-if-present). Absent: nothing to undo. */
  compensate?(ctx: StepContext<TInput, TResults> & { result: TResults[K] }): Promise<void>;
  retry?: Partial<RetryPolicy>;
  compensationRetry?: Partial<RetryPolicy>;
  /** Longest a single attempt may run; then it is aborted and counts as a transient failure. */
  timeoutMs?: number;
}

/** Maps a `$all` event to the instance it starts or feeds; null ignores the event. */
export type SagaTrigger<TInput> = (
  event: RecordedEvent,
) => { sagaId: string; input: TInput } | null;

/**
 * A trigger for the events of the streams `<category>-<id>`, by the tenant of their metadata:
 * `make` names the instance and its input. Events of other streams, or without a tenant, start
 * and feed nothing.
 */
export function onStreamOf<TInput>(
  category: string,
  make: (
    entityId: string,
    tenantId: string,
    event: RecordedEvent,
  ) => { sagaId: string; input: TInput } | null,
): SagaTrigger<TInput> {
  const prefix = `${category}-`;
  return (event) => {
    const tenantId = event.metadata.tenantId;
    if (!event.streamId.startsWith(prefix) || !tenantId) return null;
    return make(event.streamId.slice(prefix.length), tenantId, event);
  };
}

export interface SagaDefinitionSpec<TInput, TResults> {
  /** `[a-z][a-z0-9_]*`; the instance streams are `saga_<name>-<id>`. */
  name: string;
  /**
   * Event type -> the instance it concerns. The first such event of an instance starts it with
   * `input`; later ones are recorded as inputs (`ctx.inputs`) and wake it.
   */
  triggers?: Partial<Record<string, SagaTrigger<TInput>>>;
  /**
   * Event type -> the instance it starts. Unlike `triggers`, an event for an instance that exists
   * already (started by `SagaLauncher.start` from the same request) is ignored, not fed to it, and
   * so is one older than the runtime's start horizon (`startHorizonMs`).
   */
  startedBy?: Partial<Record<string, SagaTrigger<TInput>>>;
  steps: ReadonlyArray<
    { [K in keyof TResults & string]: SagaStep<TInput, TResults, K> }[keyof TResults & string]
  >;
  /**
   * Whether an error thrown by a step is permanent (no retry, compensate at once). Default:
   * `PermanentSagaError`, and `AppError`s whose code is a client error that a retry cannot fix.
   */
  isPermanent?: (error: unknown) => boolean;
  /** Default retry policy and timeout of every step. */
  retry?: Partial<RetryPolicy>;
  compensationRetry?: Partial<RetryPolicy>;
  stepTimeoutMs?: number;
  /** Runs of a step cut short by a crash (not failures) tolerated before giving up. */
  maxInterruptions?: number;
}

/**
 * A validated saga definition, as the runtime consumes it: steps see their input and results as
 * `unknown` here (they were typed where the saga was defined). `TInput` only types
 * `SagaLauncher.start`.
 */
export interface SagaDefinition<TInput = unknown> {
  readonly name: string;
  readonly triggers: Readonly<Partial<Record<string, SagaTrigger<TInput>>>>;
  readonly startedBy: Readonly<Partial<Record<string, SagaTrigger<TInput>>>>;
  readonly steps: readonly RuntimeStep[];
  readonly isPermanent: (error: unknown) => boolean;
  readonly plan: SagaPlan;
}

/** A step with its policies resolved, as the runtime calls it. */
export interface RuntimeStep {
  name: string;
  execute(ctx: StepContext<unknown, Record<string, unknown>>): Promise<unknown>;
  compensate?(
    ctx: StepContext<unknown, Record<string, unknown>> & { result: unknown },
  ): Promise<void>;
}

/** The pure, serialisable part of a definition that the decision functions need. */
export interface SagaPlan {
  steps: ReadonlyArray<{
    name: string;
    compensable: boolean;
    retry: RetryPolicy;
    compensationRetry: RetryPolicy;
    timeoutMs: number;
  }>;
  maxInterruptions: number;
}

/**
 * Thrown by a step that is not done yet: "run me again at `until`, or as soon as an input
 * arrives" (a persisted saga timeout: the wake-up is a saga timer, so it survives restarts). It
 * is not a failure: no retry budget is used.
 *
 *   if (state.status === 'pending') throw new SagaWait(state.expiresAt);
 */
export class SagaWait extends Error {
  constructor(readonly until: string) {
    super(`waiting until ${until}`);
    this.name = 'SagaWait';
    if (Number.isNaN(Date.parse(until))) throw new Error(`SagaWait: ${until} is not an instant`);
  }
}

/** Thrown by a step when retrying cannot help: the saga compensates at once. */
export class PermanentSagaError extends Error {
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'PermanentSagaError';
  }
}

const PERMANENT_APP_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'validation_error',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'invalid_state',
  'dependency_violation',
  'quota_exceeded',
  'precondition_failed',
  'idempotency_key_reused',
]);

export function isPermanentByDefault(error: unknown): boolean {
  if (error instanceof PermanentSagaError) return true;
  if (error instanceof AppError) return PERMANENT_APP_ERRORS.has(error.code);
  return false;
}

const NAME_RE = /^[a-z][a-z0-9_]*$/;

export function defineSaga<TInput, TResults extends Record<string, unknown>>(
  spec: SagaDefinitionSpec<TInput, TResults>,
): SagaDefinition<TInput> {
  if (!NAME_RE.test(spec.name)) throw new Error(`saga name "${spec.name}" must match ${NAME_RE}`);
  if (spec.steps.length === 0) throw new Error(`saga ${spec.name}: needs at least one step`);
  for (const type of Object.keys(spec.startedBy ?? {})) {
    if (spec.triggers?.[type]) {
      throw new Error(`saga ${spec.name}: ${type} is both a trigger and a starting event`);
    }
  }
  const seen = new Set<string>();
  for (const step of spec.steps) {
    if (seen.has(step.name)) throw new Error(`saga ${spec.name}: duplicate step ${step.name}`);
    seen.add(step.name);
  }
  const retry = { ...DEFAULT_RETRY, ...spec.retry };
  const compensationRetry = { ...DEFAULT_COMPENSATION_RETRY, ...spec.compensationRetry };
  const plan: SagaPlan = {
    steps: spec.steps.map((step) => ({
      name: step.name,
      compensable: typeof step.compensate === 'function',
      retry: validPolicy(spec.name, step.name, { ...retry, ...step.retry }),
      compensationRetry: validPolicy(spec.name, step.name, {
        ...compensationRetry,
        ...step.compensationRetry,
      }),
      timeoutMs: step.timeoutMs ?? spec.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
    })),
    maxInterruptions: spec.maxInterruptions ?? 10,
  };
  return {
    name: spec.name,
    triggers: spec.triggers ?? {},
    startedBy: spec.startedBy ?? {},
    // Method parameters are bivariant, so typed steps fit the runtime's view; sound because the
    // runtime hands each step only the input and results this saga itself stored.
    steps: spec.steps,
    isPermanent: spec.isPermanent ?? isPermanentByDefault,
    plan,
  };
}

function validPolicy(saga: string, step: string, policy: RetryPolicy): RetryPolicy {
  const ok =
    Number.isInteger(policy.maxAttempts) &&
    policy.maxAttempts >= 1 &&
    policy.initialDelayMs >= 0 &&
    policy.maxDelayMs >= policy.initialDelayMs &&
    (policy.multiplier ?? 2) >= 1;
  if (!ok) throw new Error(`saga ${saga}, step ${step}: invalid retry policy`);
  return policy;
}

/** The stream of one instance. */
export function sagaStreamId(sagaName: string, sagaId: string): string {
  return `saga_${sagaName}-${sagaId}`;
}

/**
 * The error of the last failed step of a saga instance, read from its own stream (what a
 * compensation records as the resource's failure reason), at most 1,000 characters.
 */
export async function lastStepFailure(
  store: EventStore,
  sagaName: string,
  sagaId: string,
  fallback: string,
): Promise<string> {
  let error = fallback;
  for (const e of await store.readStream(sagaStreamId(sagaName, sagaId))) {
    if (e.type === 'SagaStepFailed') error = (e.data as { error: string }).error;
  }
  return error.slice(0, 1000);
}

/**
 * The context of a command a saga step issues: actor `saga:<name>`, and a command id derived from
 * the saga, its resource and the purpose, so a step that runs again does not append twice.
 */
export function sagaCommandContext(
  saga: string,
  resourceId: string,
  purpose: string,
  options: { tenantId: string | null; correlationId: string },
): CommandContext {
  return systemContext(`saga:${saga}`, {
    tenantId: options.tenantId,
    correlationId: options.correlationId,
    commandId: uuidV5(`${saga}/${resourceId}/${purpose}`),
  });
}
