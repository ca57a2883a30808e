/**
 * A start-up failure whose cause is known: main prints it as one line, `nimbus: cannot start:
 * <cause>; <what to do>`, and exits 1, without a stack trace.
 */
export class StartupError extends Error {
  constructor(
    /** What went wrong, naming the thing (file, port, variable) it went wrong with. */
    readonly problem: string,
    /** What the person starting Nimbus can do about it. */
    readonly remedy: string,
  ) {
    super(`${problem}; ${remedy}`);
    this.name = 'StartupError';
  }
}
