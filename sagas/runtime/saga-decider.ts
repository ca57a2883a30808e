import { retryDelayMs } from '../../src/kernel/retry';
import type { SagaPlan } from './definition';
import {
  attemptKey,
  type FailureReason,
  type InFlightAttempt,
  type SagaEvent,
  type SagaPhase,
  type SagaState,
} from './saga-state';

/**
 * What the runtime does next with an instance: a pure function of the plan, the folded stream and
 * the time. The runtime records the events first and only then acts (runs the step it started).
 */
export type SagaAction =
  /** Nothing to do: not started, or finished. */
  | { kind: 'done' }
  /** A retry is due later; the scheduler wakes the instance then. */
  | { kind: 'wait'; until: string }
  /** Record these events, then decide again. */
  | { kind: 'record'; events: SagaEvent[] }
  /** Record the attempt's start (events), then run it. */
  | { kind: 'run'; events: SagaEvent[]; attempt: InFlightAttempt };

export interface AttemptFailure {
  error: string;
  reason: FailureReason;
  permanent: boolean;
}

export function nextAction(plan: SagaPlan, state: SagaState, now: Date): SagaAction {
  switch (state.status) {
    case 'not_started':
    case 'completed':
    case 'compensated':
    case 'failed':
      return { kind: 'done' };
    case 'running':
    case 'compensating':
      break;
    default:
      return assertNever(state.status);
  }

  // An attempt was started and its outcome never recorded: the process that ran it stopped (or
  // this is the timeout timer of a process that died). It may or may not have had its effect.
  if (state.inFlight) {
    const timedOut = now.getTime() >= Date.parse(state.inFlight.deadline);
    return {
      kind: 'record',
      events: onAttemptFailed(
        plan,
        state,
        state.inFlight,
        timedOut
          ? { error: 'the step ran past its timeout', reason: 'timeout', permanent: false }
          : {
              error: 'the process running the step stopped before recording its outcome',
              reason: 'interrupted',
              permanent: false,
            },
        now,
      ),
    };
  }

  if (state.retry && now.getTime() < Date.parse(state.retry.at)) {
    return { kind: 'wait', until: state.retry.at };
  }

  if (isWaiting(state, now)) return { kind: 'wait', until: state.waiting?.until as string };

  if (state.status === 'running') {
    const next = plan.steps.find((s) => !state.succeeded.includes(s.name));
    if (!next) return { kind: 'record', events: [{ type: 'SagaCompleted', data: {} }] };
    return startAttempt(state, 'execute', next.name, next.timeoutMs, now);
  }

  const remaining = state.compensation?.remaining ?? [];
  if (remaining.length === 0) {
    const reason = state.compensation?.reason ?? 'compensated';
    return { kind: 'record', events: [{ type: 'SagaCompensated', data: { reason } }] };
  }
  const step = planStep(plan, remaining[0]);
  return startAttempt(state, 'compensate', step.name, step.timeoutMs, now);
}

function startAttempt(
  state: SagaState,
  phase: SagaPhase,
  step: string,
  timeoutMs: number,
  now: Date,
): SagaAction {
  const attempt = (state.attempts[attemptKey(phase, step)] ?? 0) + 1;
  const deadline = new Date(now.getTime() + timeoutMs).toISOString();
  const data = { step, attempt, deadline };
  const event: SagaEvent =
    phase === 'execute'
      ? { type: 'SagaStepStarted', data }
      : { type: 'SagaCompensationStepStarted', data };
  return { kind: 'run', events: [event], attempt: { phase, step, attempt, deadline } };
}

/** A waiting step stays asleep until its time comes or an input arrives after it began waiting. */
function isWaiting(state: SagaState, now: Date): boolean {
  const waiting = state.waiting;
  return (
    waiting !== null &&
    state.inputs.length <= waiting.inputsSeen &&
    now.getTime() < Date.parse(waiting.until)
  );
}

/**
 * The event recording an attempt that asked to wait (`SagaWait`): the step runs again at `until`,
 * or once an input arrives beyond the `inputsSeen` ones its attempt saw.
 */
export function onAttemptWaiting(
  attempt: InFlightAttempt,
  until: string,
  inputsSeen: number,
): SagaEvent[] {
  return [
    {
      type: 'SagaStepWaiting',
      data: { step: attempt.step, attempt: attempt.attempt, until, inputsSeen },
    },
  ];
}

/** The events recording a successful attempt. */
export function onAttemptSucceeded(attempt: InFlightAttempt, result: unknown): SagaEvent[] {
  if (attempt.phase === 'execute') {
    return [
      {
        type: 'SagaStepSucceeded',
        data: { step: attempt.step, attempt: attempt.attempt, result: result ?? null },
      },
    ];
  }
  return [{ type: 'SagaStepCompensated', data: { step: attempt.step, attempt: attempt.attempt } }];
}

/**
 * The events recording a failed attempt: a retry (at once after an interruption, after a backoff
 * otherwise), or giving up. Giving up on a forward step starts compensation of the steps that
 * succeeded, newest first; giving up on a compensation marks the saga failed (an operator must
 * look). A step whose last attempt ended with an unknown outcome (timeout, interruption) may
 * have had its effect, so it is compensated too.
 */
export function onAttemptFailed(
  plan: SagaPlan,
  state: SagaState,
  attempt: InFlightAttempt,
  failure: AttemptFailure,
  now: Date,
): SagaEvent[] {
  const step = planStep(plan, attempt.step);
  const key = attemptKey(attempt.phase, attempt.step);
  const policy = attempt.phase === 'execute' ? step.retry : step.compensationRetry;
  const interrupted = failure.reason === 'interrupted';
  const failures = (state.failures[key] ?? 0) + (interrupted ? 0 : 1);
  const interruptions = (state.interruptions[key] ?? 0) + (interrupted ? 1 : 0);
  const willRetry = interrupted
    ? interruptions <= plan.maxInterruptions
    : !failure.permanent && failures < policy.maxAttempts;

  const failed: SagaEvent =
    attempt.phase === 'execute'
      ? {
          type: 'SagaStepFailed',
          data: {
            step: attempt.step,
            attempt: attempt.attempt,
            error: failure.error,
            reason: failure.reason,
            permanent: failure.permanent,
            willRetry,
          },
        }
      : {
          type: 'SagaCompensationStepFailed',
          data: {
            step: attempt.step,
            attempt: attempt.attempt,
            error: failure.error,
            reason: failure.reason,
            willRetry,
          },
        };

  if (willRetry) {
    if (interrupted) return [failed];
    const at = new Date(now.getTime() + retryDelayMs(policy, failures)).toISOString();
    return [
      failed,
      {
        type: 'SagaRetryScheduled',
        data: { phase: attempt.phase, step: attempt.step, nextAttempt: attempt.attempt + 1, at },
      },
    ];
  }

  const reason = `step ${attempt.step} failed${failure.permanent ? ' permanently' : ''}: ${failure.error}`;
  if (attempt.phase === 'compensate') {
    return [failed, { type: 'SagaFailed', data: { reason, step: attempt.step } }];
  }
  const outcomeUnknown = failure.reason !== 'error';
  const toUndo = [...state.succeeded, ...(outcomeUnknown ? [attempt.step] : [])]
    .reverse()
    .filter((name) => planStep(plan, name).compensable);
  return [
    failed,
    {
      type: 'SagaCompensationStarted',
      data: { reason, failedStep: attempt.step, steps: toUndo },
    },
  ];
}

export type SagaTimerKind = 'retry' | 'step_timeout' | 'wait';

export interface DesiredTimer {
  /** Unique within the instance. */
  key: string;
  kind: SagaTimerKind;
  dueAt: string;
  payload: { phase: SagaPhase; step: string; attempt: number };
}

/**
 * The persisted timers an instance needs in this state: a wake-up at the deadline of the attempt
 * in flight (so that another process takes over if this one dies), one when a retry is due, and
 * one when a waiting step's time comes.
 */
export function desiredTimers(state: SagaState): DesiredTimer[] {
  const timers: DesiredTimer[] = [];
  if (state.inFlight) {
    const { phase, step, attempt, deadline } = state.inFlight;
    timers.push({
      key: `timeout:${phase}:${step}:${attempt}`,
      kind: 'step_timeout',
      dueAt: deadline,
      payload: { phase, step, attempt },
    });
  }
  if (state.waiting && state.status === 'running') {
    const { step, until } = state.waiting;
    const attempt = state.attempts[attemptKey('execute', step)] ?? 0;
    timers.push({
      key: `wait:${step}:${attempt}`,
      kind: 'wait',
      dueAt: until,
      payload: { phase: 'execute', step, attempt },
    });
  }
  if (state.retry) {
    const { phase, step, nextAttempt, at } = state.retry;
    timers.push({
      key: `retry:${phase}:${step}:${nextAttempt}`,
      kind: 'retry',
      dueAt: at,
      payload: { phase, step, attempt: nextAttempt },
    });
  }
  return timers;
}

function planStep(plan: SagaPlan, name: string): SagaPlan['steps'][number] {
  const step = plan.steps.find((s) => s.name === name);
  if (!step) throw new Error(`the saga has no step named ${name}`);
  return step;
}

function assertNever(value: never): never {
  throw new Error(`unexpected saga status ${String(value)}`);
}
