import type { Ctx } from '../core/context.ts';
import type { Queryable } from '../db/client.ts';
import { auditLog } from '../db/schema.ts';

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
  const now = ctx.clock.now();
  await tx.insert(auditLog).values(entries.map((entry) => ({
    orgId: entry.orgId,
    actorUserId: actor && actor.via !== 'operator' ? actor.userId : null,
    actorLabel: actor ? (actor.via === 'operator' ? `operator:${actor.name}` : actor.email) : 'system',
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: ctx.requestId,
    createdAt: now,
  })));
}
