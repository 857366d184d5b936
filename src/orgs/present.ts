import { memberPermissions } from '../auth/permissions.ts';
import type { Actor } from '../core/context.ts';
import type { MemberRow } from './queries.ts';
import type { OrgView } from './service.ts';

/** A member as the API shows it to `viewer`, with what the viewer may do to that member now. */
export function presentMember(member: MemberRow, viewer: Actor | null) {
  return {
    user_id: member.userId,
    email: member.email,
    display_name: member.displayName,
    role: member.role,
    status: member.status,
    joined_at: member.joinedAt.toISOString(),
    ...(member.usageLimit ? { usage_limit: { daily: member.usageLimit.daily, monthly: member.usageLimit.monthly } } : {}),
    permissions: viewer ? memberPermissions(viewer, member) : [],
  };
}

export function presentOrg(view: OrgView) {
  const { org, seats } = view;
  return {
    id: org.id,
    name: org.name,
    slug: org.slug,
    tier: org.plan,
    seats: {
      used: seats.activeMembers + seats.pendingInvites,
      limit: org.seatLimit,
      active_members: seats.activeMembers,
      pending_invites: seats.pendingInvites,
    },
    storage_used_bytes: org.storageUsedBytes,
    storage_limit_bytes: view.storageLimitBytes,
    members_without_limit: view.membersWithoutLimit,
  };
}
