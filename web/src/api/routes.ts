// Every (method, path) the dashboard calls, as OpenAPI-style templates. A test on the server
// side checks each one against /api/openapi.json, so the client cannot drift from the contract.
// Keep this list in step with client.ts (client.test.ts checks that every call there is listed here).

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ApiRoute {
  method: HttpMethod;
  path: string;
  /** Development-only route (off when NODE_ENV=production); it may be absent from the OpenAPI. */
  devOnly?: boolean;
}

export const apiRoutes = [
  { method: 'post', path: '/api/v1/auth/signup' },
  { method: 'post', path: '/api/v1/auth/login' },
  { method: 'post', path: '/api/v1/auth/logout' },
  { method: 'post', path: '/api/v1/auth/verify-email' },
  { method: 'post', path: '/api/v1/auth/verify-email/resend' },
  { method: 'post', path: '/api/v1/auth/password-reset' },
  { method: 'post', path: '/api/v1/auth/password-reset/confirm' },
  { method: 'get', path: '/api/v1/me' },
  { method: 'patch', path: '/api/v1/me' },
  { method: 'post', path: '/api/v1/auth/password' },
  { method: 'get', path: '/api/v1/tokens' },
  { method: 'post', path: '/api/v1/tokens' },
  { method: 'delete', path: '/api/v1/tokens/{id}' },
  { method: 'get', path: '/api/v1/org' },
  { method: 'post', path: '/api/v1/org' },
  { method: 'patch', path: '/api/v1/org' },
  { method: 'get', path: '/api/v1/org/members' },
  { method: 'put', path: '/api/v1/org/members/{user_id}/role' },
  { method: 'delete', path: '/api/v1/org/members/{user_id}' },
  { method: 'put', path: '/api/v1/org/members/{user_id}/usage-limit' },
  { method: 'post', path: '/api/v1/org/members/{user_id}/disable' },
  { method: 'post', path: '/api/v1/org/leave' },
  { method: 'post', path: '/api/v1/org/transfer-ownership' },
  { method: 'post', path: '/api/v1/org/invite' },
  { method: 'post', path: '/api/v1/org/invites/bulk' },
  { method: 'get', path: '/api/v1/org/invites' },
  { method: 'delete', path: '/api/v1/org/invites/{id}' },
  { method: 'post', path: '/api/v1/org/invites/{id}/resend' },
  { method: 'get', path: '/api/v1/invites/{token}' },
  { method: 'post', path: '/api/v1/invites/{token}/accept' },
  { method: 'get', path: '/api/v1/usage' },
  { method: 'get', path: '/api/v1/org/usage' },
  { method: 'get', path: '/api/v1/billing/plans' },
  { method: 'post', path: '/api/v1/billing/checkout' },
  { method: 'post', path: '/api/v1/billing/portal' },
  { method: 'get', path: '/api/v1/me/subscription' },
  { method: 'get', path: '/api/v1/org/billing' },
  { method: 'put', path: '/api/v1/org/billing/seats' },
  { method: 'get', path: '/api/v1/org/storage' },
  { method: 'get', path: '/api/v1/org/audit' },
  { method: 'get', path: '/api/v1/org/projects' },
  { method: 'post', path: '/api/v1/org/projects' },
  { method: 'get', path: '/api/v1/org/projects/{id}' },
  { method: 'patch', path: '/api/v1/org/projects/{id}' },
  { method: 'delete', path: '/api/v1/org/projects/{id}' },
  { method: 'put', path: '/api/v1/org/projects/{id}/members/{user_id}' },
  { method: 'delete', path: '/api/v1/org/projects/{id}/members/{user_id}' },
  { method: 'get', path: '/api/dev/mailbox', devOnly: true },
] as const satisfies readonly ApiRoute[];

export type ApiRoutePath = (typeof apiRoutes)[number]['path'];
