import { sql } from 'drizzle-orm';
import { recordAudit } from '../audit/record.ts';
import { auditEntries } from '../audit/service.ts';
import type { AuditRow } from '../audit/queries.ts';
import { applySubscription } from '../billing/service.ts';
import { MAX_SEATS, PLANS } from '../billing/plans.ts';
import type { Actor, Ctx } from '../core/context.ts';
import { normalizeEmail } from '../core/email.ts';
import { AppError } from '../core/errors.ts';
import { queryRows, type Queryable } from '../db/client.ts';
import type { Plan, Role } from '../db/schema.ts';
import { setDisabled } from '../members/service.ts';
import { allMembers, type MemberRow, type OrgRow } from '../orgs/queries.ts';
import { findOrgBySlug, orgView, type OrgView } from '../orgs/service.ts';

/** Support operations for the operator CLI: the actor must be the operator, never an API caller. */
function requireOperator(ctx: Ctx): Actor {
  if (ctx.actor?.via !== 'operator') throw new AppError('forbidden', 'Only the operator CLI can do this.');
  return ctx.actor;
}

export interface UserStatusChange {
  userId: string;
  email: string;
  changed: boolean;
  /** The org whose audit log holds the entry; null when the user belongs to no org (nothing to audit into). */
  orgSlug: string | null;
}

export function enableUser(ctx: Ctx, input: { email: string }): Promise<UserStatusChange> {
  return changeUserStatus(ctx, input.email, 'enable');
}

export function disableUser(ctx: Ctx, input: { email: string }): Promise<UserStatusChange> {
  return changeUserStatus(ctx, input.email, 'disable');
}

async function changeUserStatus(ctx: Ctx, email: string, change: 'enable' | 'disable'): Promise<UserStatusChange> {
  requireOperator(ctx);
  const { normalized } = normalizeEmail(email);
  return ctx.db.transaction(async (tx) => {
    const [user] = await queryRows<{ id: string; email: string; disabled_at: Date | null; org_id: string | null; slug: string | null; role: Role | null }>(
      tx,
      sql`SELECT u.id, u.email, u.disabled_at, m.org_id, o.slug, m.role
          FROM users u LEFT JOIN memberships m ON m.user_id = u.id LEFT JOIN orgs o ON o.id = m.org_id
          WHERE u.email_normalized = ${normalized}
          FOR UPDATE OF u`,
    );
    if (!user) throw new AppError('user_not_found', `No account uses the address ${email.trim()}.`);
    const changed = await setDisabled(tx, user.id, change === 'disable' ? ctx.clock.now() : null);
    if (changed && user.org_id) {
      const [before, after] = change === 'disable' ? ['active', 'disabled'] : ['disabled', 'active'];
      await recordAudit(tx, ctx, {
        orgId: user.org_id,
        action: change === 'disable' ? 'member.disabled' : 'member.enabled',
        targetType: 'user',
        targetId: user.id,
        before: { email: user.email, status: before },
        after: { email: user.email, status: after },
      });
    }
    return { userId: user.id, email: user.email, changed, orgSlug: user.slug };
  });
}

/**
 * Sets an org's plan and seats (Enterprise is sold only this way). Goes through the same
 * `applySubscription` as checkout, so seats never drop below members plus pending invitations.
 */
export async function setPlan(ctx: Ctx, input: { slug: string; plan: string; seats: number }): Promise<OrgView> {
  const operator = requireOperator(ctx);
  if (!isPlan(input.plan)) {
    throw new AppError('invalid_plan', `Unknown plan "${input.plan}". Use one of: ${Object.keys(PLANS).join(', ')}.`);
  }
  if (!Number.isInteger(input.seats) || input.seats < 1 || input.seats > MAX_SEATS) {
    throw new AppError('invalid_seats', `Choose between 1 and ${MAX_SEATS} seats.`);
  }
  const org = await requireOrg(ctx.db, input.slug);
  await applySubscription(
    { ...ctx, billing: { ...ctx.billing, name: 'operator' } },
    { scope: { kind: 'org', orgId: org.id }, plan: input.plan, seats: input.seats, providerRef: `operator:${operator.name}` },
  );
  return orgView(ctx.db, org.id, ctx.clock.now());
}

function isPlan(plan: string): plan is Plan {
  return Object.hasOwn(PLANS, plan);
}

export interface PendingInvitation {
  email: string;
  role: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface OrgReport extends OrgView {
  members: MemberRow[];
  pendingInvitations: PendingInvitation[];
}

export async function showOrg(ctx: Ctx, input: { slug: string }): Promise<OrgReport> {
  requireOperator(ctx);
  const org = await requireOrg(ctx.db, input.slug);
  const now = ctx.clock.now();
  const view = await orgView(ctx.db, org.id, now);
  const members = await allMembers(ctx.db, org.id);
  const invitations = await queryRows<{ email: string; role: string; created_at: Date | string; expires_at: Date | string }>(
    ctx.db,
    sql`SELECT email, role, created_at, expires_at FROM invitations
        WHERE org_id = ${org.id} AND status = 'pending' AND expires_at > ${now}
        ORDER BY created_at`,
  );
  return {
    ...view,
    members,
    pendingInvitations: invitations.map((row) => ({
      email: row.email,
      role: row.role,
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    })),
  };
}

export async function orgAudit(
  ctx: Ctx,
  input: { slug: string; limit: number; action?: string; actor?: string },
): Promise<{ org: OrgRow; entries: AuditRow[] }> {
  requireOperator(ctx);
  if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > 1000) {
    throw new AppError('invalid_request', 'Choose a limit between 1 and 1000 entries.');
  }
  const org = await requireOrg(ctx.db, input.slug);
  const page = await auditEntries(ctx.db, org.id, {
    limit: input.limit,
    cursor: null,
    action: input.action ?? null,
    actor: input.actor ?? null,
  });
  return { org, entries: page.entries };
}

async function requireOrg(db: Queryable, slug: string): Promise<OrgRow> {
  const org = await findOrgBySlug(db, slug);
  if (!org) throw new AppError('org_not_found', `No organization with slug "${slug}".`);
  return org;
}
