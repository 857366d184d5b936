/**
 * Background work that runs in every process now and then every `intervalMs` (the retention
 * sweep, the record of invitation expiries): one run at a time, the next scheduled when the last
 * has finished, and a stop that waits for the run in flight. Tests wait on `nextRun`, not on time.
 */
export interface Periodic<Report> {
  /** Resolves with the report of the next run to finish. */
  nextRun(): Promise<Report>;
  /** Stops the timer, and waits for a run in flight (its `signal` is aborted: it stops early). */
  stop(): Promise<void>;
}

export function startPeriodic<Report>(options: {
  intervalMs: number;
  run: (signal: AbortSignal) => Promise<Report>;
  /** A run that threw (a run should report its own failures; this is the last resort). */
  onError: (error: unknown) => void;
}): Periodic<Report> {
  let waiting: ((report: Report) => void)[] = [];
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stopping = new AbortController();

  const schedule = () => {
    if (stopping.signal.aborted) return;
    running = options
      .run(stopping.signal)
      .then((report) => {
        for (const wake of waiting.splice(0)) wake(report);
      })
      .catch(options.onError)
      .finally(() => {
        running = undefined;
        if (stopping.signal.aborted) return;
        timer = setTimeout(schedule, options.intervalMs);
        timer.unref();
      });
  };
  schedule();

  return {
    nextRun: () => new Promise((resolve) => waiting.push(resolve)),
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running;
      waiting = [];
    },
  };
}
