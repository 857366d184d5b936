import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { safeMessage, serializeError } from './logging.ts';

describe('serializeError', () => {
  it("keeps what failed and drops every value: a failed statement's parameters and a violated key's detail", () => {
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint "api_tokens_token_hash_key"'), {
      code: '23505',
      constraint: 'api_tokens_token_hash_key',
      table: 'api_tokens',
      detail: 'Key (token_hash)=(\\x5365637265744861736856616c7565) already exists.',
      params: ['SecretHashValue'],
    });
    const failed = new DrizzleQueryError('insert into "api_tokens" ("token_hash") values ($1)', ['SecretHashValue'], driverError);
    const logged = JSON.stringify(serializeError(failed));
    expect(logged).toContain('Failed query: insert into \\"api_tokens\\"');
    expect(logged).toContain('"code":"23505"');
    expect(logged).toContain('"constraint":"api_tokens_token_hash_key"');
    expect(logged).not.toContain('SecretHashValue');
    expect(logged).not.toContain('5365637265744861736856616c7565');
    // What a failed background job stores (events/runtime.ts): the statement, not its values.
    expect(safeMessage(failed)).toBe('Failed query: insert into "api_tokens" ("token_hash") values ($1)');
  });

  it('redacts tokens in messages and logs a thrown non-error as text', () => {
    expect(serializeError(new Error('no invitation rs_inv_abcdef123')).message).toBe('no invitation rs_inv_[redacted]');
    expect(serializeError('rs_sess_abcdef123')).toEqual({ type: 'string', message: 'rs_sess_[redacted]', stack: '' });
  });
});
