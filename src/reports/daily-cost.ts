import type { BilledUsage } from '../billing/domain';
import { intervalAmount } from '../billing/domain/meter';

const DAY = 86_400;

export interface DailyCost {
  /** YYYY-MM-DD */
  day: string;
  /** Exact metered amount (micro-USD x seconds / 3600). */
  amount: bigint;
}

/** Cost per UTC day of a period: each usage piece split exactly at midnight. */
export function dailyCost(items: readonly BilledUsage[], start: number, end: number): DailyCost[] {
  const days: DailyCost[] = [];
  for (let d = start; d < end; d += DAY) {
    days.push({ day: new Date(d * 1000).toISOString().slice(0, 10), amount: 0n });
  }
  for (const u of items) {
    let s = Math.max(u.start, start);
    const e = Math.min(u.end, end);
    while (s < e) {
      const index = Math.floor((s - start) / DAY);
      const dayEnd = Math.min(e, start + (index + 1) * DAY);
      days[index].amount += intervalAmount({ ...u, start: s, end: dayEnd });
      s = dayEnd;
    }
  }
  return days;
}
