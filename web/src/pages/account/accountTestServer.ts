// A stand-in for the API the account page calls, for its component tests: the signed-in user,
// their API tokens, their own subscription, and `write` to answer a write differently (an error)
// before the defaults.
import type { ApiToken, PersonalSubscription, User } from '../../api/types';
import { mockFetch, type RecordedRequest } from '../../test/render';

export type Reply = { status: number; body?: unknown };

export const failure = (status: number, code: string, message: string, details?: Record<string, unknown>) => (): Reply => ({
  status,
  body: { error: { code, message, ...(details ? { details } : {}) } },
});

export const NEW_TOKEN_SECRET = 'rs_api_0123456789abcdefshownonce';

const defaultUser: User = { id: 'u-1', email: 'ada@example.com', name: 'Ada', email_verified: true };

export function aSubscription(overrides: Partial<PersonalSubscription> = {}): PersonalSubscription {
  return {
    plan: 'team',
    seats: 5,
    status: 'active',
    current_period_end: null,
    cancel_at_period_end: false,
    portal_available: true,
    ...overrides,
  };
}

export function accountServer(
  options: {
    user?: Partial<User>;
    tokens?: ApiToken[];
    /** GET /me/subscription; none by default. */
    subscription?: PersonalSubscription | null;
    /** Answers a write first; `undefined` falls through to the defaults below. */
    write?: (request: RecordedRequest) => Reply | undefined;
  } = {},
) {
  const state = { user: { ...defaultUser, ...options.user }, tokens: [...(options.tokens ?? [])] };
  let created = 0;
  const requests = mockFetch((request) => {
    const { pathname } = new URL(request.url, 'http://roster.test');
    const route = `${request.method} ${pathname}`;
    if (request.method !== 'GET' && options.write) {
      const reply = options.write(request);
      if (reply) return reply;
    }
    const body = (request.body ?? {}) as Record<string, string>;
    if (route === 'GET /api/v1/me') return { status: 200, body: { user: state.user, org: null } };
    if (route === 'PATCH /api/v1/me') {
      state.user = { ...state.user, name: body.name ?? state.user.name };
      return { status: 200, body: { user: state.user } };
    }
    if (route === 'POST /api/v1/auth/verify-email/resend') return { status: 202, body: { email: state.user.email } };
    if (route === 'POST /api/v1/auth/password') return { status: 200, body: { user: state.user } };
    if (route === 'GET /api/v1/me/subscription') return { status: 200, body: { subscription: options.subscription ?? null } };
    if (route === 'POST /api/v1/billing/portal') {
      if (!options.subscription) {
        return { status: 404, body: { error: { code: 'no_subscription', message: 'Nothing to manage.' } } };
      }
      // The local billing provider's answer: the dashboard's billing page, as it has no portal.
      return { status: 200, body: { url: `${window.location.origin}/settings/billing?scope=personal` } };
    }
    if (route === 'GET /api/v1/tokens') return { status: 200, body: { tokens: state.tokens } };
    if (route === 'POST /api/v1/tokens') {
      created += 1;
      const token = { id: `t-new-${created}`, name: body.name ?? '', created_at: '2026-03-02T09:30:00.000Z' };
      state.tokens = [...state.tokens, token];
      return { status: 201, body: { ...token, token: NEW_TOKEN_SECRET } };
    }
    if (request.method === 'DELETE' && pathname.startsWith('/api/v1/tokens/')) {
      const id = decodeURIComponent(pathname.slice('/api/v1/tokens/'.length));
      state.tokens = state.tokens.filter((token) => token.id !== id);
      return { status: 204 };
    }
    // The shell's reads: a user in no organization, and no development mailbox.
    if (route === 'GET /api/v1/org') return { status: 200, body: {} };
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
  return { requests, state };
}

export const writes = (requests: RecordedRequest[]) => requests.filter((request) => request.method !== 'GET');
