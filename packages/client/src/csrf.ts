// Roster's CSRF rule for a host that accepts the Roster session cookie on its own routes.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The cookie Roster keeps its session in (httpOnly: the host reads it server-side only). */
export const ROSTER_SESSION_COOKIE = 'roster_session';

/**
 * Whether `header` (the request's `X-CSRF-Token`) is the CSRF token of the Roster session
 * `sessionToken` (the `roster_session` cookie's value), as Roster checks its own cookie-authenticated
 * writes. The token is derived from the session, so a cookie and header pair planted by someone who
 * can set cookies for the site (a sibling subdomain) never passes, where "header equals the
 * `roster_csrf` cookie" would. The page reads the `roster_csrf` cookie and sends it as the header.
 */
export function isRosterCsrfToken(sessionToken: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(createHash('sha256').update(`roster-csrf:${sessionToken}`).digest('base64url'));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
