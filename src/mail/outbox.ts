import { sql } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';

export interface OutgoingMail {
  kind: string;
  orgId?: string | null;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Queues mail in the caller's transaction (transactional outbox): the email exists exactly when
 * the change that announces it commits. The delivery worker sends it later.
 */
export async function enqueueMail(tx: Queryable, mails: OutgoingMail[], now: Date): Promise<void> {
  if (mails.length === 0) return;
  // One statement with one array per column, however many mails: a bulk invitation's 1,000
  // emails cost one round trip (a multi-row VALUES list of 8,000 parameters was 3× slower).
  const column = <T>(pick: (mail: OutgoingMail) => T) => sql.param(mails.map(pick));
  await tx.execute(
    sql`INSERT INTO mail_outbox (kind, org_id, to_address, subject, text_body, html_body, next_attempt_at, created_at)
        SELECT kind, org_id::uuid, to_address, subject, text_body, html_body, ${now}, ${now}
        FROM unnest(${column((mail) => mail.kind)}::text[], ${column((mail) => mail.orgId ?? null)}::text[],
                    ${column((mail) => mail.to)}::text[], ${column((mail) => mail.subject)}::text[],
                    ${column((mail) => mail.text)}::text[], ${column((mail) => mail.html)}::text[])
             AS mail(kind, org_id, to_address, subject, text_body, html_body)`,
  );
}

type Listener = () => void;
const listeners = new Set<Listener>();

/**
 * Called after a transaction that queued mail has committed: wakes this process's delivery
 * worker at once instead of at its next poll. Other processes find the rows by polling.
 */
export function announceQueuedMail(): void {
  for (const listener of listeners) listener();
}

export function onQueuedMail(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
