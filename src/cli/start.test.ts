import { describe, expect, it } from 'vitest';
import { stopSignals } from './start.ts';

describe('stop signals (roster start)', () => {
  it('drains on the first SIGTERM and ignores the SIGTERMs after it (systemd and the primary may each send one)', () => {
    const next = stopSignals();
    expect(next('SIGTERM')).toBe('drain');
    expect(next('SIGTERM')).toBe('ignore');
    expect(next('SIGTERM')).toBe('ignore');
  });

  it('exits at once on a second SIGINT (Ctrl-C twice), also after a SIGTERM', () => {
    const fromTerminal = stopSignals();
    expect(fromTerminal('SIGINT')).toBe('drain');
    expect(fromTerminal('SIGTERM')).toBe('ignore'); // a --workers primary forwards SIGTERM to its workers
    expect(fromTerminal('SIGINT')).toBe('exit');

    const fromSupervisor = stopSignals();
    expect(fromSupervisor('SIGTERM')).toBe('drain');
    expect(fromSupervisor('SIGINT')).toBe('ignore');
    expect(fromSupervisor('SIGINT')).toBe('exit');
  });
});
