import type { Queryable } from '../db/client.ts';
import { mailOutbox } from '../db/schema.ts';

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
  await tx.insert(mailOutbox).values(
    mails.map((mail) => ({
      kind: mail.kind,
      orgId: mail.orgId ?? null,
      toAddress: mail.to,
      subject: mail.subject,
      textBody: mail.text,
      htmlBody: mail.html,
      nextAttemptAt: now,
      createdAt: now,
    })),
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
