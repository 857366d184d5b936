import type { Queryable } from '../db/client.ts';
import { insertMails, type OutgoingMail } from './queries.ts';

export type { OutgoingMail } from './queries.ts';

/**
 * Queues mail in the caller's transaction (transactional outbox): the email exists exactly when
 * the change that announces it commits, and the same commit wakes the delivery worker of every
 * process (NOTIFY). The worker runtime sends it (src/mail/worker.ts).
 */
export async function enqueueMail(tx: Queryable, mails: OutgoingMail[], now: Date): Promise<void> {
  if (mails.length === 0) return;
  await insertMails(tx, mails, now);
}
