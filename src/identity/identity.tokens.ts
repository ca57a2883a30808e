/** The identity context's server keys (keys/server-keys.ts ServerKeys). */
export const SERVER_KEYS = Symbol('IDENTITY_SERVER_KEYS');

/**
 * The identity context's clock (rate-limit windows, token expiry, sign-in throttling). Injectable so tests
 * move time instead of sleeping: `app.get(IdentityClock).advance(60_000)`.
 */
export class IdentityClock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves this clock forward (tests). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
