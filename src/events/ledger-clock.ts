import { Injectable } from '@nestjs/common';

/**
 * The clock of the ledger contexts (billing "now" for open usage, the current period, report
 * and export timestamps). Injectable so tests pin or move time instead of sleeping:
 * `app.get(LedgerClock).set(new Date('2026-02-01T00:00:00Z'))`.
 */
@Injectable()
export class LedgerClock {
  private fixed: Date | null = null;
  private offsetMs = 0;

  now(): Date {
    return this.fixed ? new Date(this.fixed.getTime()) : new Date(Date.now() + this.offsetMs);
  }

  /** Pins the clock at an instant (tests); `null` lets it run again. */
  set(at: Date | null): void {
    this.fixed = at;
  }

  advance(ms: number): void {
    if (this.fixed) this.fixed = new Date(this.fixed.getTime() + ms);
    else this.offsetMs += ms;
  }
}
