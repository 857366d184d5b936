/** The UTC calendar day and month that `now` falls in, and when each resets. */
export interface UsagePeriods {
  /** 'YYYY-MM-DD' */
  day: string;
  /** First day of the month, 'YYYY-MM-DD' */
  month: string;
  dayStart: Date;
  monthStart: Date;
  dayEnd: Date;
  monthEnd: Date;
}

export function periodsAt(now: Date): UsagePeriods {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const date = now.getUTCDate();
  const dayStart = new Date(Date.UTC(year, month, date));
  const monthStart = new Date(Date.UTC(year, month, 1));
  return {
    day: isoDate(dayStart),
    month: isoDate(monthStart),
    dayStart,
    monthStart,
    dayEnd: new Date(Date.UTC(year, month, date + 1)),
    monthEnd: new Date(Date.UTC(year, month + 1, 1)),
  };
}

/** Whole seconds from `now` until `resetsAt`, at least 1 (the Retry-After value). */
export function secondsUntil(resetsAt: Date, now: Date): number {
  return Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
