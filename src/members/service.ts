import { sql } from 'drizzle-orm';
import { recordAudit } from '../audit/record.ts';
import { authorize } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireActor } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { queryRows, type Queryable } from '../db/client.ts';
import type { MemberRow } from '../orgs/queries.ts';
import { lockActorInOrg, requireMember } from '../orgs/service.ts';

/**
 * Disables a member's account. Authentication re-reads `users.disabled_at` on every request, so
 * every session and API token of the user fails from the next request on, in every process;
 * sessions are also deleted. The member keeps their seat until removed; only the operator CLI
 * re-enables.
 */
export async function disableMember(ctx: Ctx, input: { userId: string }): Promise<MemberRow> {
  const actor = authorize(requireActor(ctx), 'members.disable');
  if (input.userId === actor.userId) {
    throw new AppError('cannot_disable_self', 'You cannot disable your own account. Ask another admin.');
  }
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'members.disable');
    const target = await requireMember(tx, orgId, input.userId);
    if (target.role === 'owner') {
      throw new AppError('cannot_disable_owner', 'The owner cannot be disabled. Transfer ownership first.');
    }
    if (target.status === 'disabled') return target;
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.disabled',
      targetType: 'user',
      targetId: target.userId,
      before: { email: target.email, status: 'active' },
      after: { email: target.email, status: 'disabled' },
    });
    await setDisabled(tx, target.userId, ctx.clock.now());
    return { ...target, status: 'disabled' };
  });
}

/**
 * Sets or clears `disabled_at` when it changes; disabling also deletes the user's sessions (API
 * tokens stay, refused while the user is disabled). True when the row changed.
 */
export async function setDisabled(db: Queryable, userId: string, disabledAt: Date | null): Promise<boolean> {
  const changed = await queryRows<{ id: string }>(
    db,
    disabledAt
      ? sql`UPDATE users SET disabled_at = ${disabledAt} WHERE id = ${userId} AND disabled_at IS NULL RETURNING id`
      : sql`UPDATE users SET disabled_at = NULL WHERE id = ${userId} AND disabled_at IS NOT NULL RETURNING id`,
  );
  if (disabledAt) await db.execute(sql`DELETE FROM sessions WHERE user_id = ${userId}`);
  return changed.length > 0;
}
