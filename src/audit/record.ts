import { sql } from 'drizzle-orm';
import type { Ctx } from '../core/context.ts';
import type { Queryable } from '../db/client.ts';

export interface AuditEntry {
  orgId: string;
  action: string;
  targetType?: string;
  targetId?: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

/**
 * Writes one audit entry with `tx`, the transaction of the change it describes, so the entry
 * exists exactly when the change does. Callers never pass secrets in before/after.
 */
export async function recordAudit(tx: Queryable, ctx: Ctx, entry: AuditEntry): Promise<void> {
  await recordAudits(tx, ctx, [entry]);
}

/** Many entries of one change (a bulk invitation) in one statement, in the same transaction. */
export async function recordAudits(tx: Queryable, ctx: Ctx, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const actor = ctx.actor;
  const actorUserId = actor && actor.via !== 'operator' ? actor.userId : null;
  const actorLabel = actor ? (actor.via === 'operator' ? `operator:${actor.name}` : actor.email) : 'system';
  const column = <T>(pick: (entry: AuditEntry) => T) => sql.param(entries.map(pick));
  const json = (value: Record<string, unknown> | null | undefined) => (value ? JSON.stringify(value) : null);
  // One array per column: a bulk change's entries cost one round trip, not one per entry.
  await tx.execute(
    sql`INSERT INTO audit_log (org_id, actor_user_id, actor_label, action, target_type, target_id, before, after, request_id, created_at)
        SELECT org_id::uuid, ${actorUserId}::uuid, ${actorLabel}, action, target_type, target_id, before::jsonb, after::jsonb,
               ${ctx.requestId}, ${ctx.clock.now()}
        FROM unnest(${column((entry) => entry.orgId)}::text[], ${column((entry) => entry.action)}::text[],
                    ${column((entry) => entry.targetType ?? null)}::text[], ${column((entry) => entry.targetId ?? null)}::text[],
                    ${column((entry) => json(entry.before))}::text[], ${column((entry) => json(entry.after))}::text[])
             WITH ORDINALITY AS entry(org_id, action, target_type, target_id, before, after, position)
        ORDER BY entry.position`,
  );
}
