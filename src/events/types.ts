import type { Plan, Role } from '../db/schema.ts';

type InviteRole = Exclude<Role, 'owner'>;

/**
 * The typed data of every domain event, by event name (the names of the API contract's
 * "Host-app integration" section). Ids are the API's ids; field names are the API's snake_case,
 * because this data is what a webhook receiver will read.
 */
export interface EventData {
  /** `owner_user_id`: the creator, the org's first member and owner (no member.joined is sent for them). */
  'org.created': { org_id: string; name: string; slug: string; plan: Plan; seats: number; owner_user_id: string };
  'org.updated': { org_id: string; name: string; previous_name: string | null };
  'org.ownership_transferred': { owner_user_id: string; previous_owner_user_id: string };
  'member.joined': { user_id: string; email: string; role: InviteRole; invite_id: string };
  /** Removed by an admin (`reason: "removed"`) or left on their own (`reason: "left"`). */
  'member.removed': { user_id: string; email: string; role: Role; reason: 'removed' | 'left' };
  'member.role_changed': { user_id: string; role: Role; previous_role: Role };
  'member.disabled': { user_id: string; email: string };
  'member.enabled': { user_id: string; email: string };
  'invite.created': { invite_id: string; email: string; role: InviteRole; expires_at: string };
  'invite.resent': { invite_id: string; email: string; expires_at: string };
  /** Revoked by an admin, or because its inviter was removed, disabled or demoted from admin. */
  'invite.revoked': {
    invite_id: string;
    email: string;
    role: InviteRole;
    reason: 'revoked_by_admin' | 'inviter_lost_admin_rights';
  };
  'invite.expired': { invite_id: string; email: string };
  'invite.accepted': { invite_id: string; user_id: string; email: string; role: InviteRole };
  /** A subscription's seats changed (or it started); `previous_*` are null for a new subscription. */
  'billing.seats_changed': BillingChange;
  /** A subscription's plan changed and its seats did not (the operator's set-plan). */
  'billing.plan_changed': BillingChange;
  'project.created': { project_id: string; name: string; description: string | null; editor_user_id: string };
  /** Only the fields that changed are present. */
  'project.updated': { project_id: string; changes: ProjectFields; previous: ProjectFields };
  /** A member added to the team (`previous_editor` null), or their editor flag changed. */
  'project.member_changed': { project_id: string; user_id: string; editor: boolean; previous_editor: boolean | null };
  'project.member_removed': { project_id: string; user_id: string; reason: ProjectLeaveReason };
  'project.deleted': { project_id: string; name: string };
  /** The provider reported a new subscription status (`past_due` while a payment is retried, `canceled`). */
  'billing.status_changed': {
    status: 'active' | 'past_due' | 'canceled';
    previous_status: 'active' | 'past_due' | 'canceled' | null;
    plan: Plan;
    seats: number;
  };
  'usage.limit_changed': {
    user_id: string;
    daily: number | null;
    monthly: number | null;
    previous_daily: number | null;
    previous_monthly: number | null;
  };
  /** The host app set the org's storage total after a recount (service token with storage:write). */
  'storage.recounted': { used_bytes: number; previous_used_bytes: number };
  /** Support set an Enterprise org's monthly allocation (`monthly` null: unlimited). */
  'usage.allocation_changed': { monthly: number | null; previous_monthly: number | null };
  /** 80% of the org's monthly allocation is used (at most once per org and UTC month). */
  'usage.allocation_low': AllocationState;
  /** All of the org's monthly allocation is used (at most once per org and UTC month). */
  'usage.allocation_exhausted': AllocationState;
  /**
   * A request was refused because it would take the member over their daily or monthly limit
   * (at most once per member and exceeded period; `period_start` is its first UTC day).
   */
  'usage.limit_exceeded': {
    user_id: string;
    period: 'day' | 'month';
    period_start: string;
    limit: number;
    used: number;
    requested: number;
    resets_at: string;
  };
}

export interface AllocationState {
  /** First day of the UTC month, YYYY-MM-DD. */
  month: string;
  monthly: number;
  used: number;
}

export interface ProjectFields {
  name?: string;
  description?: string | null;
  settings?: Record<string, unknown>;
}

export type ProjectLeaveReason = 'removed_from_project' | 'left_project' | 'member_removed' | 'member_left' | 'member_disabled';

interface BillingChange {
  plan: Plan;
  seats: number;
  previous_plan: Plan | null;
  previous_seats: number | null;
}

export type EventType = keyof EventData;

/** One event: its name and the data of that name. */
export type DomainEvent = { [Type in EventType]: { type: Type; data: EventData[Type] } }[EventType];

/** An event on its way into the events table, in the transaction of its change. */
export type OrgEvent = DomainEvent & { orgId: string };
