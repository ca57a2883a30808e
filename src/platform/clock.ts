import { Injectable } from '@nestjs/common';

/**
 * The application's one clock: every "now" of application code (use cases, the auth guard's
 * token checks, rate limits, billing's open usage, reports, exports, reconcilers) reads it, so
 * tests pin or move time instead of sleeping:
 *
 *   app.get(Clock).set(new Date('2026-02-01T00:00:00Z'));   // pinned
 *   app.get(Clock).advance(60_000);                           // a minute later
 *
 * PlatformModule provides one instance to every module. Pure code (deciders) gets time through
 * its commands, never from here. Outside Nest, `Clock.fixed(at)` is a pinned clock and
 * `new Clock()` the system's.
 */
@Injectable()
export class Clock {
  private pinned: Date | null = null;
  private offsetMs = 0;

  static fixed(at: Date): Clock {
    const clock = new Clock();
    clock.set(at);
    return clock;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return this.pinned ? this.pinned.getTime() : Date.now() + this.offsetMs;
  }

  /** Pins the clock at an instant (tests); `null` lets it run again from the real time. */
  set(at: Date | null): void {
    this.pinned = at ? new Date(at.getTime()) : null;
  }

  advance(ms: number): void {
    if (this.pinned) this.pinned = new Date(this.pinned.getTime() + ms);
    else this.offsetMs += ms;
  }
}
