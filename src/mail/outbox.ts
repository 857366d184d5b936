import { runStatementParts, type Queryable, type RowSource, type StatementPart } from '../db/client.ts';
import { insertMails, templateMailsInsert, type MailTemplate, type OutgoingMail, type TemplateRecipient } from './queries.ts';

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
 * the message sent and stored once (mail_templates) instead of once per recipient.
 */
export async function enqueueTemplateMail(
  tx: Queryable,
  template: MailTemplate,
  recipients: TemplateRecipient[],
  now: Date,
): Promise<void> {
  if (recipients.length === 0) return;
  await runStatementParts(tx, 'roster_mail_insert_template', [templateMail(template, recipients, now)]);
}

/**
 * enqueueTemplateMail as a share of another module's statement (src/db/client.ts StatementPart):
 * the same rows and the same wake-up on commit, without a round trip of their own. The recipients
 * may also be a query over rows of that statement (templateMailsInsert).
 */
export function templateMail(template: MailTemplate, recipients: RowSource<TemplateRecipient>, now: Date): StatementPart {
  if (!template.text.includes(template.slot) || !template.html.includes(template.slot)) {
    throw new Error('A mail template must contain its slot in the text and HTML bodies.');
  }
  return templateMailsInsert(template, recipients, now);
}
