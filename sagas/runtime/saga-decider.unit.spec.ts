import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/kernel/retry';
import { defineSaga, PermanentSagaError, type SagaPlan } from './definition';
import {
  desiredTimers,
  nextAction,
  onAttemptFailed,
  onAttemptSucceeded,
  onAttemptWaiting,
  type AttemptFailure,
  type SagaAction,
} from './saga-decider';
import { foldSaga, type InFlightAttempt, type SagaEvent } from './saga-state';
import { AppError } from '../../src/common/errors/app-error';

const noop = async (): Promise<null> => null;
const undo = async (): Promise<void> => undefined;

const saga = defineSaga<{ name: string }, { a: null; b: null; c: null }>({
  name: 'three_steps',
  steps: [
    { name: 'a', execute: noop, compensate: undo },
    {
      name: 'b',
      execute: noop,
      compensate: undo,
      retry: { maxAttempts: 3, initialDelayMs: 100 },
    },
    { name: 'c', execute: noop, timeoutMs: 1000 },
  ],
  retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 1000 },
  compensationRetry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10 },
  stepTimeoutMs: 60_000,
});
const plan: SagaPlan = saga.plan;

const T0 = new Date('2026-11-23T12:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const iso = (ms: number): string => at(ms).toISOString();

const started: SagaEvent = {
  type: 'SagaStarted',
  data: {
    sagaName: 'three_steps',
    sagaId: 's1',
    input: { name: 'x' },
    tenantId: 't1',
    correlationId: 'c1',
    trigger: null,
  },
};
const stepStarted = (step: string, attempt: number, deadline = iso(60_000)): SagaEvent => ({
  type: 'SagaStepStarted',
  data: { step, attempt, deadline },
});
const stepSucceeded = (step: string, attempt = 1): SagaEvent => ({
  type: 'SagaStepSucceeded',
  data: { step, attempt, result: null },
});
const attempt = (
  step: string,
  n: number,
  phase: InFlightAttempt['phase'] = 'execute',
  deadline = iso(60_000),
): InFlightAttempt => ({ phase, step, attempt: n, deadline });
const transient = (error = 'boom'): AttemptFailure => ({
  error,
  reason: 'error',
  permanent: false,
});
const permanent = (error = 'no'): AttemptFailure => ({ error, reason: 'error', permanent: true });

/** given(history).when(now) -> the action. */
function given(history: SagaEvent[]) {
  const state = foldSaga(history);
  return {
    state,
    nextAt: (ms: number): SagaAction => nextAction(plan, state, at(ms)),
    failed: (a: InFlightAttempt, f: AttemptFailure, ms = 0): SagaEvent[] =>
      onAttemptFailed(plan, state, a, f, at(ms)),
  };
}

describe('saga decisions', () => {
  it('does nothing before the saga started', () => {
    expect(given([]).nextAt(0)).toEqual({ kind: 'done' });
  });

  it('starts the first step with its deadline', () => {
    expect(given([started]).nextAt(0)).toEqual({
      kind: 'run',
      events: [stepStarted('a', 1, iso(60_000))],
      attempt: attempt('a', 1),
    });
  });

  it('starts the next step after a success, with the step timeout', () => {
    expect(
      given([
        started,
        stepStarted('a', 1),
        stepSucceeded('a'),
        stepStarted('b', 1),
        stepSucceeded('b'),
      ]).nextAt(5),
    ).toEqual({
      kind: 'run',
      events: [stepStarted('c', 1, iso(1005))],
      attempt: attempt('c', 1, 'execute', iso(1005)),
    });
  });

  it('records a success', () => {
    expect(onAttemptSucceeded(attempt('a', 1), { id: 'v' })).toEqual([
      { type: 'SagaStepSucceeded', data: { step: 'a', attempt: 1, result: { id: 'v' } } },
    ]);
  });

  it('completes after the last step', () => {
    const history = [
      started,
      ...['a', 'b', 'c'].flatMap((s) => [stepStarted(s, 1), stepSucceeded(s)]),
    ];
    expect(given(history).nextAt(0)).toEqual({
      kind: 'record',
      events: [{ type: 'SagaCompleted', data: {} }],
    });
    expect(given([...history, { type: 'SagaCompleted', data: {} }]).nextAt(0)).toEqual({
      kind: 'done',
    });
  });

  it('schedules a retry with exponential backoff after a transient failure', () => {
    const history = [started, stepStarted('a', 1), stepSucceeded('a'), stepStarted('b', 1)];
    expect(given(history).failed(attempt('b', 1), transient(), 10)).toEqual([
      {
        type: 'SagaStepFailed',
        data: {
          step: 'b',
          attempt: 1,
          error: 'boom',
          reason: 'error',
          permanent: false,
          willRetry: true,
        },
      },
      {
        type: 'SagaRetryScheduled',
        data: { phase: 'execute', step: 'b', nextAttempt: 2, at: iso(110) },
      },
    ]);
    const second = [
      ...history,
      ...given(history).failed(attempt('b', 1), transient(), 10),
      stepStarted('b', 2),
    ];
    const events = given(second).failed(attempt('b', 2), transient(), 200);
    expect(events[1]).toEqual({
      type: 'SagaRetryScheduled',
      data: { phase: 'execute', step: 'b', nextAttempt: 3, at: iso(400) },
    });
  });

  it('waits for a scheduled retry, then starts the next attempt', () => {
    const history = [
      started,
      stepStarted('a', 1),
      ...given([started, stepStarted('a', 1)]).failed(attempt('a', 1), transient(), 0),
    ];
    expect(given(history).nextAt(49)).toEqual({ kind: 'wait', until: iso(50) });
    expect(given(history).nextAt(50)).toMatchObject({
      kind: 'run',
      attempt: attempt('a', 2, 'execute', iso(60_050)),
    });
  });

  it('compensates the succeeded steps newest first after a permanent failure', () => {
    const history = [
      started,
      stepStarted('a', 1),
      stepSucceeded('a'),
      stepStarted('b', 1),
      stepSucceeded('b'),
      stepStarted('c', 1),
    ];
    expect(given(history).failed(attempt('c', 1), permanent('quota'))).toEqual([
      {
        type: 'SagaStepFailed',
        data: {
          step: 'c',
          attempt: 1,
          error: 'quota',
          reason: 'error',
          permanent: true,
          willRetry: false,
        },
      },
      {
        type: 'SagaCompensationStarted',
        data: { reason: 'step c failed permanently: quota', failedStep: 'c', steps: ['b', 'a'] },
      },
    ]);
  });

  it('gives up after the last attempt and compensates', () => {
    const history: SagaEvent[] = [started, stepStarted('a', 1)];
    history.push(...given(history).failed(attempt('a', 1), transient()), stepStarted('a', 2));
    const events = given(history).failed(attempt('a', 2), transient());
    expect(events.map((e) => e.type)).toEqual(['SagaStepFailed', 'SagaCompensationStarted']);
    expect(events[1].data).toMatchObject({ steps: [] });
  });

  it('also undoes a step whose last attempt timed out (its effect is unknown)', () => {
    const history: SagaEvent[] = [started, stepStarted('a', 1, iso(100))];
    history.push(
      ...given(history).failed(attempt('a', 1), {
        error: 't',
        reason: 'timeout',
        permanent: false,
      }),
      stepStarted('a', 2, iso(200)),
    );
    const events = given(history).failed(attempt('a', 2), {
      error: 't',
      reason: 'timeout',
      permanent: false,
    });
    expect(events[1]).toMatchObject({ type: 'SagaCompensationStarted', data: { steps: ['a'] } });
  });

  it('treats an attempt without outcome as interrupted and runs it again at once', () => {
    const history = [started, stepStarted('a', 1)];
    expect(given(history).nextAt(10)).toEqual({
      kind: 'record',
      events: [
        {
          type: 'SagaStepFailed',
          data: {
            step: 'a',
            attempt: 1,
            error: 'the process running the step stopped before recording its outcome',
            reason: 'interrupted',
            permanent: false,
            willRetry: true,
          },
        },
      ],
    });
    const after = [...history, ...(given(history).nextAt(10) as { events: SagaEvent[] }).events];
    expect(given(after).nextAt(10)).toMatchObject({
      kind: 'run',
      attempt: { step: 'a', attempt: 2 },
    });
  });

  it('interruptions do not use up the retry budget, but are bounded', () => {
    let history: SagaEvent[] = [started];
    for (let n = 1; n <= plan.maxInterruptions + 1; n++) {
      history = [...history, stepStarted('a', n)];
      const action = given(history).nextAt(0);
      if (action.kind !== 'record') throw new Error('expected a record action');
      history = [...history, ...action.events];
    }
    const types = history.map((e) => e.type);
    expect(types.filter((t) => t === 'SagaStepFailed')).toHaveLength(plan.maxInterruptions + 1);
    expect(types.at(-1)).toBe('SagaCompensationStarted');
  });

  it('records a timeout when an attempt without outcome is past its deadline', () => {
    const action = given([started, stepStarted('a', 1, iso(100))]).nextAt(100);
    expect(action).toMatchObject({
      kind: 'record',
      events: [
        { type: 'SagaStepFailed', data: { reason: 'timeout', willRetry: true } },
        { type: 'SagaRetryScheduled' },
      ],
    });
  });

  it('runs compensations in order, then ends compensated', () => {
    const base: SagaEvent[] = [
      started,
      stepStarted('a', 1),
      stepSucceeded('a'),
      stepStarted('b', 1),
      stepSucceeded('b'),
      stepStarted('c', 1),
      {
        type: 'SagaStepFailed',
        data: {
          step: 'c',
          attempt: 1,
          error: 'x',
          reason: 'error',
          permanent: true,
          willRetry: false,
        },
      },
      {
        type: 'SagaCompensationStarted',
        data: { reason: 'r', failedStep: 'c', steps: ['b', 'a'] },
      },
    ];
    expect(given(base).nextAt(0)).toMatchObject({
      kind: 'run',
      events: [{ type: 'SagaCompensationStepStarted', data: { step: 'b', attempt: 1 } }],
      attempt: { phase: 'compensate', step: 'b', attempt: 1 },
    });
    expect(onAttemptSucceeded(attempt('b', 1, 'compensate'), undefined)).toEqual([
      { type: 'SagaStepCompensated', data: { step: 'b', attempt: 1 } },
    ]);
    const both: SagaEvent[] = [
      ...base,
      { type: 'SagaCompensationStepStarted', data: { step: 'b', attempt: 1, deadline: iso(1) } },
      { type: 'SagaStepCompensated', data: { step: 'b', attempt: 1 } },
      { type: 'SagaCompensationStepStarted', data: { step: 'a', attempt: 1, deadline: iso(1) } },
      { type: 'SagaStepCompensated', data: { step: 'a', attempt: 1 } },
    ];
    expect(given(both).nextAt(0)).toEqual({
      kind: 'record',
      events: [{ type: 'SagaCompensated', data: { reason: 'r' } }],
    });
  });

  it('marks the saga failed when a compensation exhausts its retries', () => {
    const base: SagaEvent[] = [
      started,
      stepStarted('a', 1),
      stepSucceeded('a'),
      stepStarted('b', 1),
      {
        type: 'SagaStepFailed',
        data: {
          step: 'b',
          attempt: 1,
          error: 'x',
          reason: 'error',
          permanent: true,
          willRetry: false,
        },
      },
      { type: 'SagaCompensationStarted', data: { reason: 'r', failedStep: 'b', steps: ['a'] } },
      {
        type: 'SagaCompensationStepStarted',
        data: { step: 'a', attempt: 1, deadline: iso(60_000) },
      },
    ];
    const first = given(base).failed(attempt('a', 1, 'compensate'), transient('stuck'));
    expect(first.map((e) => e.type)).toEqual(['SagaCompensationStepFailed', 'SagaRetryScheduled']);
    const history = [
      ...base,
      ...first,
      {
        type: 'SagaCompensationStepStarted',
        data: { step: 'a', attempt: 2, deadline: iso(60_000) },
      } as SagaEvent,
    ];
    expect(given(history).failed(attempt('a', 2, 'compensate'), transient('stuck'))).toEqual([
      {
        type: 'SagaCompensationStepFailed',
        data: { step: 'a', attempt: 2, error: 'stuck', reason: 'error', willRetry: false },
      },
      { type: 'SagaFailed', data: { reason: 'step a failed: stuck', step: 'a' } },
    ]);
  });

  it('needs a timer at the deadline of the attempt in flight and one at a retry', () => {
    expect(desiredTimers(given([started, stepStarted('a', 1, iso(5))]).state)).toEqual([
      {
        key: 'timeout:execute:a:1',
        kind: 'step_timeout',
        dueAt: iso(5),
        payload: { phase: 'execute', step: 'a', attempt: 1 },
      },
    ]);
    const history = [started, stepStarted('a', 1)];
    const retrying = given([...history, ...given(history).failed(attempt('a', 1), transient())]);
    expect(desiredTimers(retrying.state)).toEqual([
      {
        key: 'retry:execute:a:2',
        kind: 'retry',
        dueAt: iso(50),
        payload: { phase: 'execute', step: 'a', attempt: 2 },
      },
    ]);
    expect(desiredTimers(given([started]).state)).toEqual([]);
  });
});

describe('a step that waits (persisted saga timeout)', () => {
  const input: SagaEvent = {
    type: 'SagaInputReceived',
    data: { eventId: 'e1', type: 'Answered', data: {} },
  };
  const waiting = [started, stepStarted('a', 1), ...onAttemptWaiting(attempt('a', 1), iso(500), 0)];

  it('records the wait without using the retry budget', () => {
    expect(onAttemptWaiting(attempt('a', 1), iso(500), 0)).toEqual([
      { type: 'SagaStepWaiting', data: { step: 'a', attempt: 1, until: iso(500), inputsSeen: 0 } },
    ]);
    const state = given(waiting).state;
    expect(state.inFlight).toBeNull();
    expect(state.failures).toEqual({});
  });

  it('sleeps until its time, with a persisted timer, then runs the step again', () => {
    expect(given(waiting).nextAt(100)).toEqual({ kind: 'wait', until: iso(500) });
    expect(desiredTimers(given(waiting).state)).toEqual([
      {
        key: 'wait:a:1',
        kind: 'wait',
        dueAt: iso(500),
        payload: { phase: 'execute', step: 'a', attempt: 1 },
      },
    ]);
    expect(given(waiting).nextAt(500)).toEqual({
      kind: 'run',
      events: [stepStarted('a', 2, iso(60_500))],
      attempt: attempt('a', 2, 'execute', iso(60_500)),
    });
  });

  it('an input arriving after the wait began wakes it at once', () => {
    expect(given([...waiting, input]).nextAt(100)).toMatchObject({
      kind: 'run',
      attempt: { step: 'a', attempt: 2 },
    });
    // An input the attempt had already seen does not.
    const seen = [
      started,
      input,
      stepStarted('a', 1),
      ...onAttemptWaiting(attempt('a', 1), iso(500), 1),
    ];
    expect(given(seen).nextAt(100)).toEqual({ kind: 'wait', until: iso(500) });
  });

  it('the next attempt clears the wait and its timer', () => {
    const rerun = given([...waiting, stepStarted('a', 2, iso(60_500))]).state;
    expect(rerun.waiting).toBeNull();
    expect(desiredTimers(rerun).map((t) => t.kind)).toEqual(['step_timeout']);
  });
});

describe('retry policy and errors', () => {
  it('doubles the delay up to the cap', () => {
    const policy = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('treats PermanentSagaError and client AppErrors as permanent', () => {
    expect(saga.isPermanent(new PermanentSagaError('x'))).toBe(true);
    expect(saga.isPermanent(new AppError('quota_exceeded', 'x'))).toBe(true);
    expect(saga.isPermanent(new AppError('concurrency_conflict', 'x'))).toBe(false);
    expect(saga.isPermanent(new Error('ECONNRESET'))).toBe(false);
  });

  it('rejects bad definitions', () => {
    expect(() => defineSaga({ name: 'Bad-Name', steps: [{ name: 'a', execute: noop }] })).toThrow();
    expect(() =>
      defineSaga({
        name: 'dup',
        steps: [
          { name: 'a', execute: noop },
          { name: 'a', execute: noop },
        ],
      }),
    ).toThrow(/duplicate/);
  });
});
