import type { SagaInputEvent } from './definition';

/**
 * The events of a saga instance's own stream (`saga_<name>-<id>`), and the pure fold over them.
 * Types are prefixed with `Saga` so they never collide with domain events in `$all`.
 */

/** `execute` runs a step forward, `compensate` undoes it. */
export type SagaPhase = 'execute' | 'compensate';

/** Why an attempt ended without success: the step threw, ran past its deadline, or the process died. */
export type FailureReason = 'error' | 'timeout' | 'interrupted';

export type SagaEvent =
  | {
      type: 'SagaStarted';
      data: {
        sagaName: string;
        sagaId: string;
        input: unknown;
        tenantId: string | null;
        correlationId: string;
        /** The `$all` event that started it; null when a command started it. */
        trigger: { eventId: string; type: string } | null;
      };
    }
  | { type: 'SagaInputReceived'; data: SagaInputEvent }
  | { type: 'SagaStepStarted'; data: { step: string; attempt: number; deadline: string } }
  | { type: 'SagaStepSucceeded'; data: { step: string; attempt: number; result: unknown } }
  | {
      /**
       * The step is not done yet and asked to be run again at `until`, or as soon as an input
       * arrives after the `inputsSeen` its attempt saw (a persisted saga timeout).
       */
      type: 'SagaStepWaiting';
      data: { step: string; attempt: number; until: string; inputsSeen: number };
    }
  | {
      type: 'SagaStepFailed';
      data: {
        step: string;
        attempt: number;
        error: string;
        reason: FailureReason;
        permanent: boolean;
        willRetry: boolean;
      };
    }
  | {
      type: 'SagaRetryScheduled';
      data: { phase: SagaPhase; step: string; nextAttempt: number; at: string };
    }
  | {
      type: 'SagaCompensationStarted';
      data: { reason: string; failedStep: string | null; steps: string[] };
    }
  | {
      type: 'SagaCompensationStepStarted';
      data: { step: string; attempt: number; deadline: string };
    }
  | { type: 'SagaStepCompensated'; data: { step: string; attempt: number } }
  | {
      type: 'SagaCompensationStepFailed';
      data: {
        step: string;
        attempt: number;
        error: string;
        reason: FailureReason;
        willRetry: boolean;
      };
    }
  | { type: 'SagaCompleted'; data: Record<string, never> }
  | { type: 'SagaCompensated'; data: { reason: string } }
  | { type: 'SagaFailed'; data: { reason: string; step: string } };

export type SagaEventType = SagaEvent['type'];

export const SAGA_EVENT_TYPES: ReadonlySet<string> = new Set<SagaEventType>([
  'SagaStarted',
  'SagaInputReceived',
  'SagaStepStarted',
  'SagaStepSucceeded',
  'SagaStepWaiting',
  'SagaStepFailed',
  'SagaRetryScheduled',
  'SagaCompensationStarted',
  'SagaCompensationStepStarted',
  'SagaStepCompensated',
  'SagaCompensationStepFailed',
  'SagaCompleted',
  'SagaCompensated',
  'SagaFailed',
]);

export type SagaStatus =
  'not_started' | 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';

export const TERMINAL_STATUSES: ReadonlySet<SagaStatus> = new Set<SagaStatus>([
  'completed',
  'compensated',
  'failed',
]);

export interface InFlightAttempt {
  phase: SagaPhase;
  step: string;
  attempt: number;
  deadline: string;
}

export interface SagaState {
  status: SagaStatus;
  input: unknown;
  tenantId: string | null;
  correlationId: string;
  results: Record<string, unknown>;
  /** Steps that succeeded, in order. */
  succeeded: string[];
  /** A started attempt whose outcome is not recorded yet. */
  inFlight: InFlightAttempt | null;
  /** Last attempt number by `phase:step`. */
  attempts: Record<string, number>;
  /** Failures that count against the retry policy, by `phase:step`. */
  failures: Record<string, number>;
  /** Attempts cut short by a stopped process, by `phase:step`. */
  interruptions: Record<string, number>;
  retry: { phase: SagaPhase; step: string; nextAttempt: number; at: string } | null;
  /** A step waiting for `until`, or for an input beyond the `inputsSeen` first ones. */
  waiting: { step: string; until: string; inputsSeen: number } | null;
  compensation: { reason: string; remaining: string[] } | null;
  inputs: SagaInputEvent[];
  outcome: string | null;
}

export function initialSagaState(): SagaState {
  return {
    status: 'not_started',
    input: null,
    tenantId: null,
    correlationId: '',
    results: {},
    succeeded: [],
    inFlight: null,
    attempts: {},
    failures: {},
    interruptions: {},
    retry: null,
    waiting: null,
    compensation: null,
    inputs: [],
    outcome: null,
  };
}

export function attemptKey(phase: SagaPhase, step: string): string {
  return `${phase}:${step}`;
}

function bump(counts: Record<string, number>, key: string): Record<string, number> {
  return { ...counts, [key]: (counts[key] ?? 0) + 1 };
}

export function evolveSaga(state: SagaState, event: SagaEvent): SagaState {
  switch (event.type) {
    case 'SagaStarted':
      if (state.status !== 'not_started') return state;
      return {
        ...state,
        status: 'running',
        input: event.data.input,
        tenantId: event.data.tenantId,
        correlationId: event.data.correlationId,
      };
    case 'SagaInputReceived':
      return { ...state, inputs: [...state.inputs, event.data] };
    case 'SagaStepStarted':
    case 'SagaCompensationStepStarted': {
      const phase: SagaPhase = event.type === 'SagaStepStarted' ? 'execute' : 'compensate';
      const { step, attempt, deadline } = event.data;
      return {
        ...state,
        inFlight: { phase, step, attempt, deadline },
        attempts: { ...state.attempts, [attemptKey(phase, step)]: attempt },
        retry: null,
        waiting: null,
      };
    }
    case 'SagaStepSucceeded':
      return {
        ...state,
        inFlight: null,
        succeeded: [...state.succeeded, event.data.step],
        results: { ...state.results, [event.data.step]: event.data.result },
      };
    case 'SagaStepWaiting':
      return {
        ...state,
        inFlight: null,
        waiting: {
          step: event.data.step,
          until: event.data.until,
          inputsSeen: event.data.inputsSeen,
        },
      };
    case 'SagaStepFailed':
    case 'SagaCompensationStepFailed': {
      const phase: SagaPhase = event.type === 'SagaStepFailed' ? 'execute' : 'compensate';
      const key = attemptKey(phase, event.data.step);
      const interrupted = event.data.reason === 'interrupted';
      return {
        ...state,
        inFlight: null,
        failures: interrupted ? state.failures : bump(state.failures, key),
        interruptions: interrupted ? bump(state.interruptions, key) : state.interruptions,
      };
    }
    case 'SagaRetryScheduled':
      return { ...state, retry: { ...event.data } };
    case 'SagaCompensationStarted':
      return {
        ...state,
        status: 'compensating',
        retry: null,
        waiting: null,
        compensation: { reason: event.data.reason, remaining: [...event.data.steps] },
      };
    case 'SagaStepCompensated':
      return {
        ...state,
        inFlight: null,
        compensation: state.compensation && {
          ...state.compensation,
          remaining: state.compensation.remaining.filter((s) => s !== event.data.step),
        },
      };
    case 'SagaCompleted':
      return {
        ...state,
        status: 'completed',
        inFlight: null,
        retry: null,
        waiting: null,
        outcome: 'completed',
      };
    case 'SagaCompensated':
      return {
        ...state,
        status: 'compensated',
        inFlight: null,
        retry: null,
        outcome: event.data.reason,
      };
    case 'SagaFailed':
      return {
        ...state,
        status: 'failed',
        inFlight: null,
        retry: null,
        outcome: event.data.reason,
      };
    default:
      return assertNever(event);
  }
}

function assertNever(value: never): never {
  throw new Error(`unknown saga event ${JSON.stringify(value)}`);
}

export function foldSaga(events: readonly SagaEvent[]): SagaState {
  return events.reduce(evolveSaga, initialSagaState());
}
