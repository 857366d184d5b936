import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { csrfTokenOf } from '../../../src/http/security.ts';
import { isRosterCsrfToken } from './fastify.ts';
import { isRosterCsrfToken as fromExpress } from './express.ts';

describe('isRosterCsrfToken', () => {
  it("accepts exactly the token Roster derives from the session (the roster_csrf cookie's value)", () => {
    const session = `rs_sess_${randomBytes(24).toString('base64url')}`;
    expect(isRosterCsrfToken(session, csrfTokenOf(session))).toBe(true);
    expect(fromExpress(session, csrfTokenOf(session))).toBe(true);
  });

  it('refuses a planted pair, another session\'s token, a missing or a truncated header (regression: "header equals cookie" passed a planted pair)', () => {
    const session = `rs_sess_${randomBytes(24).toString('base64url')}`;
    const other = `rs_sess_${randomBytes(24).toString('base64url')}`;
    expect(isRosterCsrfToken(session, 'planted')).toBe(false);
    expect(isRosterCsrfToken(session, csrfTokenOf(other))).toBe(false);
    expect(isRosterCsrfToken(session, undefined)).toBe(false);
    expect(isRosterCsrfToken(session, csrfTokenOf(session).slice(1))).toBe(false);
  });
});
