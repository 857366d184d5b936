import type { Queryable } from '../db/client.ts';
import { insertMails, insertTemplateMails, type MailTemplate, type OutgoingMail, type TemplateRecipient } from './queries.ts';

export type { MailTemplate, OutgoingMail, TemplateRecipient } from './queries.ts';

/**
 * Queues mail in the caller's transaction (transactional outbox): the email exists exactly when
 * the change that announces it commits, and the same commit wakes the delivery worker of every
 * process (NOTIFY). The worker runtime sends it (src/mail/worker.ts).
 */
export async function enqueueMail(tx: Queryable, mails: OutgoingMail[], now: Date): Promise<void> {
  if (mails.length === 0) return;
  await insertMails(tx, mails, now);
}

/**
 * Queues one message for many recipients that differ only where `template.slot` stands (a bulk
 * invitation's link): same transactional outbox and wake-up as enqueueMail, one statement, and
 * the bodies sent to the database once instead of once per recipient.
 */
export async function enqueueTemplateMail(
  tx: Queryable,
  template: MailTemplate,
  recipients: TemplateRecipient[],
  now: Date,
): Promise<void> {
  if (recipients.length === 0) return;
  if (!template.text.includes(template.slot) || !template.html.includes(template.slot)) {
    throw new Error('A mail template must contain its slot in the text and HTML bodies.');
  }
  await insertTemplateMails(tx, template, recipients, now);
}
