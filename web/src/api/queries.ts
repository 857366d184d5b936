// TanStack Query hooks, named after what they fetch. Components never call fetch directly.
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import * as api from './client';
import { ApiError } from './errors';
import type { AuditQuery, MeResponse, OrgResponse, UsagePeriod } from './types';

export const queryKeys = {
  me: ['me'] as const,
  apiTokens: ['api-tokens'] as const,
  org: ['org'] as const,
  members: (search: string) => ['members', search] as const,
  allMembers: ['members'] as const,
  invites: ['invites'] as const,
  publicInvite: (token: string) => ['public-invite', token] as const,
  myUsage: ['usage', 'me'] as const,
  orgUsage: (period: UsagePeriod) => ['usage', 'org', period] as const,
  plans: ['plans'] as const,
  mySubscription: ['subscription', 'me'] as const,
  orgBilling: ['org-billing'] as const,
  orgStorage: ['org-storage'] as const,
  audit: (filters: AuditQuery) => ['audit', filters] as const,
  mailbox: ['mailbox'] as const,
  allProjects: ['projects'] as const,
  projects: ['projects', 'list'] as const,
  project: (projectId: string) => ['projects', 'detail', projectId] as const,
  memberSearch: (search: string) => ['member-search', search] as const,
};

/** The signed-in user and their org, or null when nobody is signed in. */
export function useMe() {
  return useQuery<MeResponse | null>({
    queryKey: queryKeys.me,
    queryFn: async () => {
      try {
        return await api.getMe();
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 30_000,
  });
}

/** The signed-in user's API tokens (names and dates; the secrets are never sent again). */
export function useApiTokens() {
  return useQuery({ queryKey: queryKeys.apiTokens, queryFn: api.listApiTokens });
}

export function useOrg() {
  return useQuery<OrgResponse>({ queryKey: queryKeys.org, queryFn: api.getOrg });
}

export const MEMBERS_PAGE_SIZE = 100;

export function useMembers(search: string) {
  return useInfiniteQuery({
    queryKey: queryKeys.members(search),
    queryFn: ({ pageParam }) => api.listMembers({ limit: MEMBERS_PAGE_SIZE, cursor: pageParam, q: search || undefined }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

export function usePendingInvites(enabled: boolean) {
  return useQuery({ queryKey: queryKeys.invites, queryFn: api.listInvites, enabled });
}

export function usePublicInvite(token: string) {
  return useQuery({
    queryKey: queryKeys.publicInvite(token),
    queryFn: () => api.getPublicInvite(token),
    retry: false,
  });
}

export function useMyUsage() {
  return useQuery({ queryKey: queryKeys.myUsage, queryFn: api.getMyUsage });
}

/** The org's allocation and the first page of members' usage (the allocation card reads only the allocation). */
export function useOrgUsage(period: UsagePeriod, enabled: boolean) {
  return useQuery({ queryKey: queryKeys.orgUsage(period), queryFn: () => api.getOrgUsage(period), enabled });
}

export const ORG_USAGE_PAGE_SIZE = 50;

/** Members' usage page by page (the keyset cursor of GET /org/members): a large org is never read whole. */
export function useOrgUsagePages(period: UsagePeriod) {
  return useInfiniteQuery({
    queryKey: [...queryKeys.orgUsage(period), 'pages'] as const,
    queryFn: ({ pageParam }) => api.getOrgUsage(period, { limit: ORG_USAGE_PAGE_SIZE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

export function usePlans() {
  return useQuery({ queryKey: queryKeys.plans, queryFn: api.getPlans, staleTime: 5 * 60_000 });
}

/**
 * The signed-in user's own subscription (bought with a personal checkout before creating an org; any
 * status), or null: it tells the create-org page that the user has paid, and the Account page what to show.
 */
export function useMySubscription() {
  return useQuery({
    queryKey: queryKeys.mySubscription,
    queryFn: api.getMySubscription,
    select: (reply) => reply.subscription,
  });
}

/** The org's plan, subscription status and seats (owners and admins: the `manage_billing` permission). */
export function useOrgBilling(enabled: boolean) {
  return useQuery({ queryKey: queryKeys.orgBilling, queryFn: api.getOrgBilling, enabled, retry: false });
}

/** The org's pooled storage: used bytes and the limit (`null`: unlimited). Any member, so not asked without an org. */
export function useOrgStorage() {
  const me = useMe();
  return useQuery({ queryKey: queryKeys.orgStorage, queryFn: api.getOrgStorage, enabled: Boolean(me.data?.org) });
}

/** Refetch billing, storage and the org (seats, tier) after a billing change. */
export function useRefreshBilling() {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.orgBilling }),
      queryClient.invalidateQueries({ queryKey: queryKeys.orgStorage }),
      queryClient.invalidateQueries({ queryKey: queryKeys.org }),
      queryClient.invalidateQueries({ queryKey: queryKeys.me }),
      queryClient.invalidateQueries({ queryKey: ['audit'] }),
    ]);
}

/** The audit log page by page; `enabled` only once the server's permissions include `view_audit`. */
export function useAuditLog(filters: AuditQuery, enabled = true) {
  return useInfiniteQuery({
    queryKey: queryKeys.audit(filters),
    enabled,
    queryFn: ({ pageParam }) => api.getAuditLog({ ...filters, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

export const PROJECTS_PAGE_SIZE = 50;

/** The projects the caller can see (their own; every project for owners and admins), page by page. */
export function useProjects() {
  return useInfiniteQuery({
    queryKey: queryKeys.projects,
    queryFn: ({ pageParam }) => api.listProjects({ limit: PROJECTS_PAGE_SIZE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

/** One project with its members; fails with a 404 ApiError for a project the caller cannot see. */
export function useProject(projectId: string) {
  return useQuery({ queryKey: queryKeys.project(projectId), queryFn: () => api.getProject(projectId) });
}

/** Active org members whose name or email starts with `search` (one short page, for pickers). */
export function useMemberSearch(search: string, enabled = true) {
  return useQuery({
    queryKey: queryKeys.memberSearch(search),
    queryFn: () => api.listMembers({ q: search || undefined, status: 'active', limit: 20 }),
    enabled,
  });
}

/** Refetch every project list and page (and the audit log) after a project change. */
export function useRefreshProjects() {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.allProjects }),
      queryClient.invalidateQueries({ queryKey: ['audit'] }),
    ]);
}

/** The development mailbox; `null` when the server has it switched off (404). */
export function useMailbox(options: { poll?: boolean } = {}) {
  return useQuery({
    queryKey: queryKeys.mailbox,
    queryFn: async () => {
      try {
        return await api.getMailbox();
      } catch (error) {
        if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return null;
        throw error;
      }
    },
    retry: false,
    refetchInterval: options.poll ? 3000 : false,
  });
}

/** Refetch everything that shows members, invitations or seats after a change. */
export function useRefreshOrg() {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.org }),
      queryClient.invalidateQueries({ queryKey: queryKeys.allMembers }),
      queryClient.invalidateQueries({ queryKey: queryKeys.invites }),
      queryClient.invalidateQueries({ queryKey: ['audit'] }),
      queryClient.invalidateQueries({ queryKey: ['usage'] }),
    ]);
}
