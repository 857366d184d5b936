// The dashboard's calls of the Roster API, on the shared typed client (@roster/client, generated
// from the server's OpenAPI): this file only adds what a browser session needs — the session
// cookie (same-origin credentials) and the CSRF token on writes. Every path, parameter, body and
// reply is checked against the OpenAPI by the compiler; routes.ts lists the same routes for the
// server-side contract test.
import { createRosterClient } from '@roster/client';
import type * as T from './types';
import type * as P from './projects';

export { buildPath } from '@roster/client';

export const CSRF_COOKIE = 'roster_csrf';

export function readCookie(name: string): string | undefined {
  if (typeof document === 'undefined') return undefined;
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** Same-origin calls with the session cookie; cookie-authenticated writes carry the CSRF token. */
export const roster = createRosterClient({
  baseUrl: '',
  credentials: 'same-origin',
  csrf: () => readCookie(CSRF_COOKIE),
});

// Auth
export const signup = (body: T.SignupInput) => roster.POST('/api/v1/auth/signup', { body });
export const login = (body: T.LoginInput) => roster.POST('/api/v1/auth/login', { body });
export const logout = () => roster.POST('/api/v1/auth/logout');
export const verifyEmail = (token: string) => roster.POST('/api/v1/auth/verify-email', { body: { token } });
export const resendVerification = () => roster.POST('/api/v1/auth/verify-email/resend');
export const getMe = () => roster.GET('/api/v1/me');
export const updateMe = (body: { name: string }) => roster.PATCH('/api/v1/me', { body });
/** Checks the current password first; this session stays signed in, every other session of the account ends. */
export const changePassword = (body: T.ChangePasswordInput) => roster.POST('/api/v1/auth/password', { body });

// API tokens (the signed-in user's own)
export const listApiTokens = () => roster.GET('/api/v1/tokens');
/** The reply's `token` is the only time the secret is shown: the server keeps its hash alone. */
export const createApiToken = (body: { name: string }) => roster.POST('/api/v1/tokens', { body });
export const revokeApiToken = (tokenId: string) => roster.DELETE('/api/v1/tokens/{id}', { params: { id: tokenId } });

// Password reset
/** Always 202 `{}`, also for an unknown address: the reply never tells whether an account exists. */
export const requestPasswordReset = (email: string) => roster.POST('/api/v1/auth/password-reset', { body: { email } });
/** Sets the new password and signs in (session cookie), like login. */
export const confirmPasswordReset = (body: { token: string; password: string }) =>
  roster.POST('/api/v1/auth/password-reset/confirm', { body });

// Organization
export const getOrg = () => roster.GET('/api/v1/org');
export const createOrg = (body: { name: string; slug: string }) => roster.POST('/api/v1/org', { body });
export const updateOrg = (body: { name: string }) => roster.PATCH('/api/v1/org', { body });
export const listMembers = (query: T.MembersQuery = {}) => roster.GET('/api/v1/org/members', { query: { ...query } });
export const setMemberRole = (userId: string, role: T.InvitableRole) =>
  roster.PUT('/api/v1/org/members/{user_id}/role', {
    params: { user_id: userId },
    body: { role },
  });
export const removeMember = (userId: string) => roster.DELETE('/api/v1/org/members/{user_id}', { params: { user_id: userId } });
export const setUsageLimit = (userId: string, limit: T.UsageLimit) =>
  roster.PUT('/api/v1/org/members/{user_id}/usage-limit', {
    params: { user_id: userId },
    body: limit,
  });
export const disableMember = (userId: string) =>
  roster.POST('/api/v1/org/members/{user_id}/disable', { params: { user_id: userId } });
export const leaveOrg = () => roster.POST('/api/v1/org/leave');
export const transferOwnership = (userId: string) => roster.POST('/api/v1/org/transfer-ownership', { body: { user_id: userId } });

// Invitations
export const inviteMember = (body: { email: string; role: T.InvitableRole }) => roster.POST('/api/v1/org/invite', { body });
export const bulkInvite = (body: T.BulkInviteInput) => roster.POST('/api/v1/org/invites/bulk', { body });
export const listInvites = () => roster.GET('/api/v1/org/invites');
export const revokeInvite = (inviteId: string) => roster.DELETE('/api/v1/org/invites/{id}', { params: { id: inviteId } });
export const resendInvite = (inviteId: string) => roster.POST('/api/v1/org/invites/{id}/resend', { params: { id: inviteId } });
export const getPublicInvite = (token: string) => roster.GET('/api/v1/invites/{token}', { params: { token } });
export const acceptInvite = (token: string) => roster.POST('/api/v1/invites/{token}/accept', { params: { token } });

// Usage
export const getMyUsage = () => roster.GET('/api/v1/usage');
export const getOrgUsage = (period: T.UsagePeriod, page: { limit?: number; cursor?: string } = {}) =>
  roster.GET('/api/v1/org/usage', { query: { period, ...page } });

// Billing
export const getPlans = () => roster.GET('/api/v1/billing/plans');
export const startCheckout = (body: T.CheckoutInput) => roster.POST('/api/v1/billing/checkout', { body });
export const openBillingPortal = (scope: 'personal' | 'org') => roster.POST('/api/v1/billing/portal', { body: { scope } });
/** The signed-in user's own subscription (scope personal, bought before creating an org), or `{ subscription: null }`. */
export const getMySubscription = () => roster.GET('/api/v1/me/subscription');
export const getOrgBilling = () => roster.GET('/api/v1/org/billing');
export const updateSeats = (body: T.SeatsInput) => roster.PUT('/api/v1/org/billing/seats', { body });
export const getOrgStorage = () => roster.GET('/api/v1/org/storage');

// Audit log
export const getAuditLog = (query: T.AuditQuery = {}) => roster.GET('/api/v1/org/audit', { query: { ...query } });

// Projects
export const listProjects = (query: P.ProjectsQuery = {}) => roster.GET('/api/v1/org/projects', { query: { ...query } });
export const createProject = (body: P.CreateProjectInput) => roster.POST('/api/v1/org/projects', { body });
export const getProject = (projectId: string) => roster.GET('/api/v1/org/projects/{id}', { params: { id: projectId } });
export const updateProject = (projectId: string, body: P.UpdateProjectInput) =>
  roster.PATCH('/api/v1/org/projects/{id}', { params: { id: projectId }, body });
export const deleteProject = (projectId: string) => roster.DELETE('/api/v1/org/projects/{id}', { params: { id: projectId } });
/** Adds an org member to the project, or changes their editor flag. */
export const setProjectMember = (projectId: string, userId: string, editor: boolean) =>
  roster.PUT('/api/v1/org/projects/{id}/members/{user_id}', {
    params: { id: projectId, user_id: userId },
    body: { editor },
  });
/** Removes a member from the project; with the caller's own id, leaves it. */
export const removeProjectMember = (projectId: string, userId: string) =>
  roster.DELETE('/api/v1/org/projects/{id}/members/{user_id}', {
    params: { id: projectId, user_id: userId },
  });

// Development mailbox (404 when SMTP is configured or in production)
export const getMailbox = () => roster.GET('/api/dev/mailbox');
