import { authorize } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireCaller } from '../core/context.ts';
import { parseEmail } from '../core/email.ts';
import { decodeIdCursor, encodeIdCursor } from '../core/cursor.ts';
import { isUuid } from '../core/ids.ts';
import type { Queryable } from '../db/client.ts';
import { auditPage, type AuditRow } from './queries.ts';

export interface AuditListInput {
  limit: number;
  cursor: string | null;
  /** Entries older than this id (the operator CLI's `--before`); a cursor, when given, wins. */
  beforeId?: string | null;
  action: string | null;
  /** A user id or an email address (for operators, the label `operator:<name>`). */
  actor: string | null;
  /** Only entries about this target (a project's history: `project` and its id). */
  targetType?: string | null;
  targetId?: string | null;
}

/** `GET /api/v1/org/audit`: the caller's org's entries, newest first. Read-only by design. */
export async function listAudit(ctx: Ctx, input: AuditListInput): Promise<{ entries: AuditRow[]; nextCursor: string | null }> {
  const actor = authorize(requireCaller(ctx), 'audit.read');
  return auditEntries(ctx.db, actor.membership.orgId, input);
}

/** One page of an org's audit log; shared by the API and the operator CLI. */
export async function auditEntries(
  db: Queryable,
  orgId: string,
  input: AuditListInput,
): Promise<{ entries: AuditRow[]; nextCursor: string | null }> {
  const rows = await auditPage(db, {
    orgId,
    limit: input.limit + 1,
    beforeId: input.cursor ? decodeCursor(input.cursor) : (input.beforeId ?? null),
    action: input.action?.trim() || null,
    actor: actorFilter(input.actor),
    targetType: input.targetType?.trim() || null,
    targetId: input.targetId?.trim() || null,
  });
  const entries = rows.slice(0, input.limit);
  const last = entries[entries.length - 1];
  return { entries, nextCursor: rows.length > input.limit && last ? encodeCursor(last.id) : null };
}

function actorFilter(actor: string | null): { userId: string } | { email: string } | null {
  const value = actor?.trim();
  if (!value) return null;
  if (isUuid(value)) return { userId: value.toLowerCase() };
  return { email: parseEmail(value)?.normalized ?? value.toLowerCase() };
}

function encodeCursor(id: string): string {
  return encodeIdCursor('audit', id);
}

function decodeCursor(cursor: string): string {
  return decodeIdCursor('audit', cursor, 'The cursor is not valid. Start again from the first page.');
}
