import type { Clock } from '../../src/core/context.ts';

/** A clock tests can move; starts at the real time so database defaults stay consistent. */
export class TestClock implements Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  set(date: Date): void {
    this.offsetMs = date.getTime() - Date.now();
  }

  /** Back to the real time: call it before each test of a file that moves the clock. */
  reset(): void {
    this.offsetMs = 0;
  }
}
