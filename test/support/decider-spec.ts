import { expect } from 'vitest';
import { AppError } from '../../src/common/errors/app-error';
import type { ErrorCode } from '../../src/common/errors/error-codes';
import type { Decider, DomainEvent } from '../../src/kernel/decider';

/**
 * Given/when/then for deciders, without I/O:
 *   spec(userDecider).given([UserRegistered]).when(ChangePassword).then([PasswordChanged])
 *   spec(userDecider).given([]).when(ChangePassword).thenThrows('not_found')
 */
export function spec<C, E extends DomainEvent, S>(decider: Decider<C, E, S>) {
  return {
    given(history: E[]) {
      const state = history.reduce((s, e) => decider.evolve(s, e), decider.initialState());
      return {
        when(command: C) {
          const run = (): E[] => decider.decide(command, state);
          return {
            then(expected: E[]): void {
              expect(run()).toEqual(expected);
            },
            thenState(check: (after: S, events: E[]) => void): void {
              const events = run();
              check(
                events.reduce((s, e) => decider.evolve(s, e), state),
                events,
              );
            },
            thenThrows(code: ErrorCode, message?: RegExp): void {
              let caught: unknown;
              try {
                run();
              } catch (err) {
                caught = err;
              }
              expect(caught, 'expected the command to be rejected').toBeInstanceOf(AppError);
              expect((caught as AppError).code).toBe(code);
              if (message) expect((caught as AppError).message).toMatch(message);
            },
          };
        },
      };
    },
  };
}
