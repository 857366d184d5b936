import type { SQL } from 'drizzle-orm';
import type { Ctx } from '../core/context.ts';
import type { Queryable, StatementPart } from '../db/client.ts';
import type { Plan, Role, SubscriptionStatus } from '../db/schema.ts';
import { appendEvents } from '../events/queries.ts';
import { auditEntriesInsert, insertGlobalAuditEntry } from './queries.ts';
import type { AllocationState, OrgEvent, ProjectFields, ProjectLeaveReason } from '../events/types.ts';

type InviteRole = Exclude<Role, 'owner'>;
interface Subscription {
  plan: Plan;
  seats: number;
  /** Who bills it (local, stripe, operator): recorded only when a change moves it. */
  provider?: string;
}
interface Limits {
  daily: number | null;
  monthly: number | null;
}

interface Change<Action extends string, Target extends string, Before, After> {
  orgId: string;
  action: Action;
  targetType: Target;
  targetId: string;
  before: Before;
  after: After;
}
type Created<Action extends string, Target extends string, After> = Omit<Change<Action, Target, never, After>, 'before'> & {
  before?: null;
};

/**
 * Every audited change, with the shape of its before/after values. The action names are the
 * audit log's (stable: the API filters by them); each one maps to exactly one typed domain event
 * in `eventOf`, so a new action does not compile until it says which event it is.
 */
export type AuditEntry =
  | Created<'org.created', 'org', { name: string; slug: string; plan: Plan; seats: number; owner_user_id: string }>
  | Change<'org.renamed', 'org', { name: string | undefined }, { name: string }>
  | Change<
      'org.ownership_transferred',
      'user',
      { owner: string; new_owner_role: Role },
      { owner: string; previous_owner_role: Role }
    >
  | Created<'member.joined', 'user', { email: string; role: InviteRole; invite_id: string }>
  | Change<'member.removed' | 'member.left', 'user', { email: string; role: Role }, null>
  | Change<'member.role_changed', 'user', { role: Role }, { role: Role }>
  | Change<'member.disabled' | 'member.enabled', 'user', { email: string; status: string }, { email: string; status: string }>
  | Change<'member.usage_limit_changed', 'user', Limits, Limits>
  | Change<'usage.allocation_changed', 'org', { monthly: number | null }, { monthly: number | null }>
  | Change<'storage.recounted', 'org', { used_bytes: number }, { used_bytes: number }>
  | Created<'usage.allocation_low' | 'usage.allocation_exhausted', 'org', AllocationState>
  | Created<'invite.sent', 'invitation', { email: string; role: InviteRole; expires_at: string }>
  | Change<'invite.resent', 'invitation', { expires_at: string }, { email: string; expires_at: string }>
  | Change<
      'invite.revoked',
      'invitation',
      { email: string; role: InviteRole; status: 'pending' | 'expired' },
      { status: 'revoked'; reason?: 'inviter_lost_admin_rights' }
    >
  | Change<'invite.expired', 'invitation', { email: string; status: 'pending' }, { status: 'expired' }>
  | Change<
      'invite.accepted',
      'invitation',
      { status: 'pending' },
      { status: 'accepted'; user_id: string; email: string; role: InviteRole }
    >
  | Change<'billing.subscription_changed', 'org', Subscription | null, Subscription>
  | Created<'project.created', 'project', { name: string; description: string | null; editor: string }>
  | Change<'project.updated', 'project', ProjectFields, ProjectFields>
  | Change<'project.member_changed', 'project', { user_id: string; editor: boolean } | null, { user_id: string; editor: boolean }>
  | Change<
      'project.member_removed',
      'project',
      { user_id: string; editor: boolean },
      { reason: Exclude<ProjectLeaveReason, 'removed_from_project' | 'left_project'> } | null
    >
  | Change<'project.deleted', 'project', { name: string; description: string | null; settings: Record<string, unknown> }, null>
  | Change<
      'billing.status_changed',
      'org',
      { status: SubscriptionStatus } | null,
      { status: SubscriptionStatus; plan: Plan; seats: number }
    >;

/** The one domain event of an audited change (ARCHITECTURE principle 11). */
export function eventOf(entry: AuditEntry): OrgEvent {
  const orgId = entry.orgId;
  switch (entry.action) {
    case 'org.created':
      return { orgId, type: 'org.created', data: { org_id: entry.targetId, ...entry.after } };
    case 'org.renamed':
      return {
        orgId,
        type: 'org.updated',
        data: { org_id: entry.targetId, name: entry.after.name, previous_name: entry.before.name ?? null },
      };
    case 'org.ownership_transferred':
      return {
        orgId,
        type: 'org.ownership_transferred',
        data: { owner_user_id: entry.after.owner, previous_owner_user_id: entry.before.owner },
      };
    case 'member.joined':
      return { orgId, type: 'member.joined', data: { user_id: entry.targetId, ...entry.after } };
    case 'member.removed':
    case 'member.left': {
      const reason = entry.action === 'member.left' ? 'left' : 'removed';
      return {
        orgId,
        type: 'member.removed',
        data: { user_id: entry.targetId, email: entry.before.email, role: entry.before.role, reason },
      };
    }
    case 'member.role_changed':
      return {
        orgId,
        type: 'member.role_changed',
        data: { user_id: entry.targetId, role: entry.after.role, previous_role: entry.before.role },
      };
    case 'member.disabled':
      return { orgId, type: 'member.disabled', data: { user_id: entry.targetId, email: entry.after.email } };
    case 'member.enabled':
      return { orgId, type: 'member.enabled', data: { user_id: entry.targetId, email: entry.after.email } };
    case 'member.usage_limit_changed':
      return {
        orgId,
        type: 'usage.limit_changed',
        data: {
          user_id: entry.targetId,
          daily: entry.after.daily,
          monthly: entry.after.monthly,
          previous_daily: entry.before.daily,
          previous_monthly: entry.before.monthly,
        },
      };
    case 'usage.allocation_changed':
      return {
        orgId,
        type: 'usage.allocation_changed',
        data: { monthly: entry.after.monthly, previous_monthly: entry.before.monthly },
      };
    case 'storage.recounted':
      return {
        orgId,
        type: 'storage.recounted',
        data: { used_bytes: entry.after.used_bytes, previous_used_bytes: entry.before.used_bytes },
      };
    case 'usage.allocation_low':
    case 'usage.allocation_exhausted':
      return { orgId, type: entry.action, data: entry.after };
    case 'invite.sent':
      return { orgId, type: 'invite.created', data: { invite_id: entry.targetId, ...entry.after } };
    case 'invite.resent':
      return { orgId, type: 'invite.resent', data: { invite_id: entry.targetId, ...entry.after } };
    case 'invite.revoked':
      return {
        orgId,
        type: 'invite.revoked',
        data: {
          invite_id: entry.targetId,
          email: entry.before.email,
          role: entry.before.role,
          reason: entry.after.reason ?? 'revoked_by_admin',
        },
      };
    case 'invite.expired':
      return { orgId, type: 'invite.expired', data: { invite_id: entry.targetId, email: entry.before.email } };
    case 'invite.accepted': {
      const { user_id, email, role } = entry.after;
      return { orgId, type: 'invite.accepted', data: { invite_id: entry.targetId, user_id, email, role } };
    }
    case 'project.created':
      return {
        orgId,
        type: 'project.created',
        data: {
          project_id: entry.targetId,
          name: entry.after.name,
          description: entry.after.description,
          editor_user_id: entry.after.editor,
        },
      };
    case 'project.updated':
      return {
        orgId,
        type: 'project.updated',
        data: { project_id: entry.targetId, changes: entry.after, previous: entry.before },
      };
    case 'project.member_changed':
      return {
        orgId,
        type: 'project.member_changed',
        data: {
          project_id: entry.targetId,
          user_id: entry.after.user_id,
          editor: entry.after.editor,
          previous_editor: entry.before?.editor ?? null,
        },
      };
    case 'project.member_removed': {
      const reason = projectLeaveReason(entry.after);
      return {
        orgId,
        type: 'project.member_removed',
        data: { project_id: entry.targetId, user_id: entry.before.user_id, reason },
      };
    }
    case 'project.deleted':
      return { orgId, type: 'project.deleted', data: { project_id: entry.targetId, name: entry.before.name } };
    case 'billing.subscription_changed': {
      const { before } = entry;
      // Who bills the plan is for the audit log; the event's data stays plan and seats.
      const { provider: _provider, ...after } = entry.after;
      const data = { ...after, previous_plan: before?.plan ?? null, previous_seats: before?.seats ?? null };
      // A plan change is billing.plan_changed also when the seats change with it (its data carries
      // both); billing.seats_changed is a change of seats on the same plan (regression: set-plan
      // with --seats sent only seats_changed, so plan_changed subscribers missed most plan changes).
      const planChanged = before !== null && before.plan !== after.plan;
      return planChanged ? { orgId, type: 'billing.plan_changed', data } : { orgId, type: 'billing.seats_changed', data };
    }
    case 'billing.status_changed':
      return { orgId, type: 'billing.status_changed', data: { ...entry.after, previous_status: entry.before?.status ?? null } };
  }
}

/** Why a member left a project: the org-level reason, or (no reason recorded) removed from the team. */
function projectLeaveReason(after: { reason: ProjectLeaveReason } | null): ProjectLeaveReason {
  return after?.reason ?? 'removed_from_project';
}

/**
 * Writes one audit entry with `tx`, the transaction of the change it describes, so the entry
 * exists exactly when the change does. Callers never pass secrets in before/after.
 */
export async function recordAudit(tx: Queryable, ctx: Ctx, entry: AuditEntry): Promise<void> {
  await recordAudits(tx, ctx, [entry]);
}

/**
 * Many entries of one change (a bulk invitation) and their domain events in one statement, in the
 * same transaction (one insert each, however many entries): every audited change is also an event,
 * and no service can write one without the other. `alongside` are other modules' writes of the
 * same change that ride in that statement (an invitation's rows and emails), under the statement
 * name `name`; returns the values they read back.
 */
export async function recordAudits(
  tx: Queryable,
  ctx: Ctx,
  entries: AuditEntry[],
  options: { name?: string; alongside?: StatementPart[] } = {},
): Promise<Record<string, unknown>> {
  if (entries.length === 0) return {};
  const now = ctx.clock.now();
  // One statement: the entries, their events and the events' webhook deliveries.
  const audited = auditEntriesInsert(auditWriter(ctx, now), entries);
  return appendEvents(tx, entries.map(eventOf), now, {
    name: options.name ?? 'roster_append_audited_events',
    alongside: [{ ctes: [audited], results: {} }, ...(options.alongside ?? [])],
  });
}

function auditWriter(ctx: Ctx, now: Date) {
  const actor = ctx.actor;
  const actorUserId = actor && actor.via !== 'operator' && actor.via !== 'service_token' ? actor.userId : null;
  return { actorUserId, actorLabel: actorLabelOf(ctx), requestId: ctx.requestId, now };
}

/**
 * recordAudits for entries that a statement selects from rows it already has (a bulk invitation's:
 * src/invites/queries.ts invitationBatch), so they are not sent a second time. `entries` selects
 * (org_id, action, target_type, target_id, before, after, position) and `events` the event of each
 * entry as eventOf makes it, (id, org_id, type, data, ordinal), for orgs `orgIds`; both read
 * relations that `alongside` defines, which come first in the statement.
 */
export async function recordAuditRows(
  tx: Queryable,
  ctx: Ctx,
  rows: { orgIds: string[]; entries: SQL; events: SQL },
  options: { name: string; alongside: StatementPart[]; last?: boolean },
): Promise<Record<string, unknown>> {
  const now = ctx.clock.now();
  const audited = auditEntriesInsert(auditWriter(ctx, now), { query: rows.entries });
  return appendEvents(tx, { orgIds: rows.orgIds, query: rows.events }, now, {
    name: options.name,
    alongside: [...options.alongside, { ctes: [audited], results: {} }],
    last: options.last,
  });
}

/**
 * Changes that belong to no organization, so no org's audit log holds them (the global audit log,
 * `roster admin global-audit`). No domain event: events are per org. Never a secret in before/after.
 */
export type GlobalAuditEntry =
  | { action: 'service_token.created'; targetType: 'service_token'; targetId: string; after: { name: string; scopes: string[] } }
  | { action: 'service_token.revoked'; targetType: 'service_token'; targetId: string; before: { name: string } }
  | {
      action: 'webhook.endpoint_created';
      targetType: 'webhook_endpoint';
      targetId: string;
      after: { url: string; events: string[]; org_id: string | null };
    }
  | {
      action: 'webhook.secret_rotated';
      targetType: 'webhook_endpoint';
      targetId: string;
      after: { url: string; previous_secret_expires_at: string | null };
    }
  | { action: 'webhook.endpoint_deleted'; targetType: 'webhook_endpoint'; targetId: string; before: { url: string } }
  | {
      action: 'user.disabled' | 'user.enabled';
      targetType: 'user';
      targetId: string;
      before: { email: string; status: string };
      after: { email: string; status: string };
    };

/** Writes one global audit entry with `tx`, the transaction of the change it describes. */
export async function recordGlobalAudit(tx: Queryable, ctx: Ctx, entry: GlobalAuditEntry): Promise<void> {
  await insertGlobalAuditEntry(tx, {
    actorLabel: actorLabelOf(ctx),
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    before: 'before' in entry ? entry.before : null,
    after: 'after' in entry ? entry.after : null,
    requestId: ctx.requestId,
    now: ctx.clock.now(),
  });
}

function actorLabelOf(ctx: Ctx): string {
  const actor = ctx.actor;
  if (!actor) return 'system';
  if (actor.via === 'service_token') return `service:${actor.credentialId}`;
  if (actor.via === 'operator') return `operator:${actor.name}`;
  return actor.email;
}
