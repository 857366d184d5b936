import type { AuditRow } from './queries.ts';

export function presentAuditEntry(entry: AuditRow) {
  return {
    id: entry.id,
    action: entry.action,
    actor: entry.actorUserId ? { user_id: entry.actorUserId, email: entry.actorEmail } : null,
    actor_label: entry.actorLabel,
    target_type: entry.targetType,
    target_id: entry.targetId,
    target_label: entry.targetLabel,
    before: entry.before ?? null,
    after: entry.after ?? null,
    created_at: entry.createdAt.toISOString(),
    request_id: entry.requestId,
  };
}
