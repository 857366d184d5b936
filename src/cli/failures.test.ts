import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { EXIT_UNAVAILABLE } from './errors.ts';
import { databaseReason, describeBug, explainFailure } from './failures.ts';

const TOKEN = 'rs_sess_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';

function failedStatement(driverMessage: string, code?: string): DrizzleQueryError {
  const driverError = Object.assign(new Error(driverMessage), code ? { code } : {});
  return new DrizzleQueryError('select "id" from "sessions" where "token_hash" = $1', [TOKEN, 'ann@example.com'], driverError);
}

describe('CLI failures', () => {
  it("explains a lost database by what the driver said, not by the statement (regression: 'Failed query: …' in the message)", () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://roster:pw@db.internal:5432/roster' });
    const explained = explainFailure(failedStatement('Connection terminated unexpectedly'), config);
    expect(explained?.exitCode).toBe(EXIT_UNAVAILABLE);
    expect(explained?.message).toContain('(Connection terminated unexpectedly)');
    expect(explained?.message).not.toContain('Failed query');
    expect(explained?.message).not.toContain('pw');
    expect(databaseReason(new Error('plain'))).toBe('plain');
  });

  it('prints a bug with its stack and causes but never a statement parameter or a token (regression: console.error(error))', () => {
    const printed = describeBug(failedStatement(`relation "sessions" does not exist near ${TOKEN}`, '42P01'));
    expect(printed.split('\n')[0]).toBe(
      'roster: internal error (a bug; report it with the lines below): Failed query: select "id" from "sessions" where "token_hash" = $1',
    );
    expect(printed).toContain('caused by: Error: relation "sessions" does not exist');
    expect(printed).toMatch(/\n\s+at /); // the stack trace, for whoever reports it
    expect(printed).not.toContain(TOKEN);
    expect(printed).not.toContain('ann@example.com');
  });
});
