// The one typed client of the Roster API. Every function maps to one contract route, and
// `call` only accepts (method, path) pairs listed in routes.ts, so the list cannot go stale.
import { ApiError } from './errors';
import { apiRoutes } from './routes';
import type * as T from './types';
import type * as P from './projects';

type RouteSpec = (typeof apiRoutes)[number];
type Method = RouteSpec['method'];
type PathFor<M extends Method> = Extract<RouteSpec, { method: M }>['path'];

interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string | number | undefined | null>;
  body?: unknown;
}

export const CSRF_COOKIE = 'roster_csrf';

export function readCookie(name: string): string | undefined {
  if (typeof document === 'undefined') return undefined;
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

export function buildPath(template: string, options: CallOptions = {}): string {
  const path = template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = options.params?.[key];
    if (value === undefined) throw new Error(`Missing path parameter ${key} for ${template}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const queryString = search.toString();
  return queryString ? `${path}?${queryString}` : path;
}

export async function call<R, M extends Method = Method>(method: M, template: PathFor<M>, options: CallOptions = {}): Promise<R> {
  const isWrite = method !== 'get';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (isWrite) {
    // Cookie-authenticated writes must carry a JSON content type and the CSRF token.
    headers['Content-Type'] = 'application/json';
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  let response: Response;
  try {
    response = await fetch(buildPath(template, options), {
      method: method.toUpperCase(),
      headers,
      credentials: 'same-origin',
      body: isWrite ? JSON.stringify(options.body ?? {}) : undefined,
    });
  } catch {
    throw new ApiError(0, {
      code: 'network_error',
      message: 'Roster cannot be reached. Check your connection and try again.',
    });
  }
  if (response.status === 204) return undefined as R;
  const text = await response.text();
  let payload: unknown = undefined;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
  }
  if (!response.ok) {
    const requestId = response.headers.get('x-request-id') ?? undefined;
    const body = (payload as { error?: T.ApiErrorBody } | undefined)?.error;
    throw new ApiError(
      response.status,
      body && typeof body.code === 'string' ? body : { code: response.status === 404 ? 'not_found' : 'http_error', message: '' },
      requestId,
    );
  }
  return payload as R;
}

// Auth
export const signup = (body: T.SignupInput) => call<T.AuthResponse>('post', '/api/v1/auth/signup', { body });
export const login = (body: T.LoginInput) => call<T.AuthResponse>('post', '/api/v1/auth/login', { body });
export const logout = () => call<void>('post', '/api/v1/auth/logout');
export const getMe = () => call<T.MeResponse>('get', '/api/v1/me');
export const updateMe = (body: { name: string }) => call<{ user: T.User }>('patch', '/api/v1/me', { body });

// Organization
export const getOrg = () => call<T.OrgResponse>('get', '/api/v1/org');
export const createOrg = (body: { name: string; slug: string }) => call<{ org: T.Org }>('post', '/api/v1/org', { body });
export const updateOrg = (body: { name: string }) => call<{ org: T.Org }>('patch', '/api/v1/org', { body });
export const listMembers = (query: T.MembersQuery = {}) =>
  call<T.MembersPage>('get', '/api/v1/org/members', { query: { ...query } });
export const setMemberRole = (userId: string, role: T.InvitableRole) =>
  call<{ member: T.Member }>('put', '/api/v1/org/members/{user_id}/role', {
    params: { user_id: userId },
    body: { role },
  });
export const removeMember = (userId: string) =>
  call<void>('delete', '/api/v1/org/members/{user_id}', { params: { user_id: userId } });
export const setUsageLimit = (userId: string, limit: T.UsageLimit) =>
  call<unknown>('put', '/api/v1/org/members/{user_id}/usage-limit', {
    params: { user_id: userId },
    body: limit,
  });
export const disableMember = (userId: string) =>
  call<unknown>('post', '/api/v1/org/members/{user_id}/disable', { params: { user_id: userId } });
export const leaveOrg = () => call<void>('post', '/api/v1/org/leave');
export const transferOwnership = (userId: string) =>
  call<unknown>('post', '/api/v1/org/transfer-ownership', { body: { user_id: userId } });

// Invitations
export const inviteMember = (body: { email: string; role: T.InvitableRole }) =>
  call<{ invite: T.Invite }>('post', '/api/v1/org/invite', { body });
export const bulkInvite = (body: T.BulkInviteInput) => call<T.BulkInviteResponse>('post', '/api/v1/org/invites/bulk', { body });
export const listInvites = () => call<{ invites: T.Invite[] }>('get', '/api/v1/org/invites');
export const revokeInvite = (inviteId: string) => call<void>('delete', '/api/v1/org/invites/{id}', { params: { id: inviteId } });
export const resendInvite = (inviteId: string) =>
  call<{ invite: T.Invite }>('post', '/api/v1/org/invites/{id}/resend', { params: { id: inviteId } });
export const getPublicInvite = (token: string) => call<T.PublicInvite>('get', '/api/v1/invites/{token}', { params: { token } });
export const acceptInvite = (token: string) =>
  call<T.AcceptInviteResponse>('post', '/api/v1/invites/{token}/accept', { params: { token } });

// Usage
export const getMyUsage = () => call<T.MyUsage>('get', '/api/v1/usage');
export const getOrgUsage = (period: T.UsagePeriod, page: { limit?: number; cursor?: string } = {}) =>
  call<T.OrgUsage>('get', '/api/v1/org/usage', { query: { period, ...page } });

// Billing
export const getPlans = () => call<{ plans: T.Plan[] }>('get', '/api/v1/billing/plans');
export const startCheckout = (body: T.CheckoutInput) => call<{ url: string }>('post', '/api/v1/billing/checkout', { body });
export const openBillingPortal = (scope: 'personal' | 'org') =>
  call<{ url: string }>('post', '/api/v1/billing/portal', { body: { scope } });
export const getOrgBilling = () => call<T.OrgBilling>('get', '/api/v1/org/billing');
export const updateSeats = (body: T.SeatsInput) => call<T.SeatsReply>('put', '/api/v1/org/billing/seats', { body });
export const getOrgStorage = () => call<T.OrgStorage>('get', '/api/v1/org/storage');

// Audit log
export const getAuditLog = (query: T.AuditQuery = {}) => call<T.AuditPage>('get', '/api/v1/org/audit', { query: { ...query } });

// Projects
export const listProjects = (query: P.ProjectsQuery = {}) =>
  call<P.ProjectsPage>('get', '/api/v1/org/projects', { query: { ...query } });
export const createProject = (body: P.CreateProjectInput) =>
  call<{ project: P.Project }>('post', '/api/v1/org/projects', { body });
export const getProject = (projectId: string) =>
  call<P.ProjectDetails>('get', '/api/v1/org/projects/{id}', { params: { id: projectId } });
export const updateProject = (projectId: string, body: P.UpdateProjectInput) =>
  call<{ project: P.Project }>('patch', '/api/v1/org/projects/{id}', { params: { id: projectId }, body });
export const deleteProject = (projectId: string) =>
  call<void>('delete', '/api/v1/org/projects/{id}', { params: { id: projectId } });
/** Adds an org member to the project, or changes their editor flag. */
export const setProjectMember = (projectId: string, userId: string, editor: boolean) =>
  call<{ member: P.ProjectMember }>('put', '/api/v1/org/projects/{id}/members/{user_id}', {
    params: { id: projectId, user_id: userId },
    body: { editor },
  });
/** Removes a member from the project; with the caller's own id, leaves it. */
export const removeProjectMember = (projectId: string, userId: string) =>
  call<void>('delete', '/api/v1/org/projects/{id}/members/{user_id}', {
    params: { id: projectId, user_id: userId },
  });

// Development mailbox (404 when SMTP is configured or in production)
export const getMailbox = () => call<{ messages: T.MailboxMessage[] }>('get', '/api/dev/mailbox');
