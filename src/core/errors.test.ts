import { describe, expect, it } from 'vitest';
import { AppError, isDatabaseUnavailable } from './errors.ts';

describe('isDatabaseUnavailable', () => {
  const outage = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'x')), fields);

  it.each([
    ['a terminated backend (57P01)', outage({ code: '57P01', message: 'terminating connection due to administrator command' })],
    ['idle_in_transaction_session_timeout (25P03)', outage({ code: '25P03' })],
    ['a connection exception (08006)', outage({ code: '08006' })],
    ['a reset socket', outage({ code: 'ECONNRESET', message: 'read ECONNRESET' })],
    ['a refused connection', outage({ code: 'ECONNREFUSED' })],
    ['a client that is no longer queryable', new Error('Client has encountered a connection error and is not queryable')],
    ['a pool that waited too long', new Error('timeout exceeded when trying to connect')],
    [
      'a database dropped under the running server (3D000 on a new connection)',
      outage({ code: '3D000', message: 'database "roster" does not exist' }),
    ],
    ['a wrapped driver error', new Error('Failed query', { cause: outage({ code: '57P01' }) })],
  ])('recognises %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', outage({ code: '23505', message: 'duplicate key value' })],
    ['a syntax error', outage({ code: '42601', message: 'syntax error' })],
    ['a domain error', new AppError('seat_limit', 'All seats are in use.')],
    ['a plain bug', new TypeError('x is undefined')],
  ])('does not mistake %s for an outage', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
