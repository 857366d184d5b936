import { sql } from 'drizzle-orm';
import { newRowId } from '../core/ids.ts';
import {
  deleteChunk,
  jsonRecordset,
  queryRows,
  queryRowsPrepared,
  rowsFrom,
  type Db,
  type Queryable,
  type RowSource,
  type StatementPart,
} from '../db/client.ts';
import type { ClaimedJob, JobStore } from '../events/runtime.ts';
import { wakeWorkers } from '../events/wakeup.ts';
import { redactedMessage, type RedactedMessage } from './redaction.ts';
import { withoutSecrets, type Sealed } from './sealing.ts';

// The SQL of mail_outbox, the table the mail module owns (ARCHITECTURE principle 9).

/** The runtime queue that delivers mail_outbox; also the payload of its wake-ups. */
export const MAIL_QUEUE = 'mail';

export interface OutgoingMail {
  kind: string;
  orgId?: string | null;
  to: string;
  subject: string;
  /** Its tokens sealed (src/mail/sealing.ts), or, for a message without a token, as it is (withoutSecrets). */
  text: Sealed;
  html: Sealed;
}

/** Inserts the mails and, in the same statement, wakes the delivery workers of every process on commit. */
export async function insertMails(tx: Queryable, mails: OutgoingMail[], now: Date): Promise<void> {
  // One statement with one array per column, however many mails: a bulk invitation's 1,000
  // emails cost one round trip (a multi-row VALUES list of 8,000 parameters was 3× slower).
  const column = <T>(pick: (mail: OutgoingMail) => T) => sql.param(mails.map(pick));
  await tx.execute(
    sql`WITH queued AS (
          INSERT INTO mail_outbox (id, kind, org_id, to_address, subject, text_body, html_body, next_attempt_at, created_at)
          SELECT id::uuid, kind, org_id::uuid, to_address, subject, text_body, html_body, ${now}, ${now}
          FROM unnest(${column(() => newRowId())}::text[], ${column((mail) => mail.kind)}::text[], ${column((mail) => mail.orgId ?? null)}::text[],
                      ${column((mail) => mail.to)}::text[], ${column((mail) => mail.subject)}::text[],
                      ${column((mail) => mail.text)}::text[], ${column((mail) => mail.html)}::text[])
               AS mail(id, kind, org_id, to_address, subject, text_body, html_body)
          RETURNING 1)
        SELECT ${wakeWorkers(MAIL_QUEUE)} WHERE EXISTS (SELECT FROM queued)`,
  );
}

/** One message rendered once, with `slot` standing where each recipient's own value goes. */
export interface MailTemplate {
  kind: string;
  orgId?: string | null;
  subject: string;
  text: string;
  html: string;
  /** A marker that occurs in the text and HTML bodies and nowhere in the rest of the message. */
  slot: string;
}

export interface TemplateRecipient {
  to: string;
  /** Replaces the slot in the subject and text body; its tokens sealed (src/mail/sealing.ts). */
  value: Sealed;
  /** Replaces the slot in the HTML body (already escaped), sealed likewise. */
  htmlValue: Sealed;
}

/**
 * The mails of one template in one statement: the message is stored once (mail_templates) and each
 * outbox row keeps its recipient's values, which the delivery worker and the mailbox put in the
 * slot when they read the row (renderedMessage). A bulk invitation's 1,000 mails differ only by
 * their link: storing 1,000 rendered messages (about 3 KB each) made the outbox about half of the
 * bulk's WAL. A share of a statement (the CTEs `mail_template` and `queued` and, as `mail_woken`,
 * the wake-up of the delivery workers on commit, like insertMails). `recipients` are values (each
 * row gets a time-ordered id), or a query of (id, to_address, value, html_value, ordinal).
 */
export function templateMailsInsert(template: MailTemplate, recipients: RowSource<TemplateRecipient>, now: Date): StatementPart {
  const templateId = newRowId();
  // The message shared by every recipient holds the slot, never a token (src/mail/sealing.ts).
  const text = withoutSecrets(template.text);
  const html = withoutSecrets(template.html);
  return {
    ctes: [
      sql`mail_template AS (
          INSERT INTO mail_templates (id, subject, text_body, html_body, slot, created_at)
          VALUES (${templateId}::uuid, ${template.subject}::text, ${text}::text, ${html}::text,
                  ${template.slot}::text, ${now}))`,
      sql`queued AS (
          INSERT INTO mail_outbox (id, kind, org_id, to_address, template_id, slot_text, slot_html, next_attempt_at, created_at)
          SELECT r.id, ${template.kind}, ${template.orgId ?? null}::uuid, r.to_address, ${templateId}::uuid, r.value, r.html_value,
                 ${now}, ${now}
          FROM ${rowsFrom(recipients, (values) =>
            jsonRecordset(
              values.map((r) => ({ id: newRowId(), to_address: r.to, value: r.value, html_value: r.htmlValue })),
              { id: 'uuid', to_address: 'text', value: 'text', html_value: 'text' },
            ),
          )} AS r(id, to_address, value, html_value, ordinal)
          ORDER BY r.ordinal
          RETURNING 1)`,
    ],
    results: { mail_woken: sql`(SELECT ${wakeWorkers(MAIL_QUEUE)}::text WHERE EXISTS (SELECT FROM queued))` },
  };
}

/**
 * The message of outbox row `m` as sent: its own columns, or its template's (`t`, left-joined on
 * `t.id = m.template_id`) with the row's values in the slot.
 */
const renderedMessage = sql.raw(`coalesce(m.subject, replace(t.subject, t.slot, m.slot_text)) AS subject,
       coalesce(m.text_body, replace(t.text_body, t.slot, m.slot_text)) AS text_body,
       coalesce(m.html_body, replace(t.html_body, t.slot, m.slot_html)) AS html_body`);

export interface OutboxRow {
  id: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  created_at: Date | string;
  status: 'pending' | 'sent' | 'failed';
}

/** Newest first; `to` matches the recipient case-insensitively (the development mailbox). */
export function newestMails(db: Queryable, options: { to?: string; limit: number }): Promise<OutboxRow[]> {
  return queryRows<OutboxRow>(
    db,
    sql`SELECT m.id, m.to_address, ${renderedMessage}, m.created_at, m.status
        FROM mail_outbox m LEFT JOIN mail_templates t ON t.id = m.template_id
        WHERE ${options.to ?? null}::text IS NULL OR lower(m.to_address) = lower(${options.to ?? null}::text)
        ORDER BY m.created_at DESC, m.id LIMIT ${options.limit}`,
  );
}

export interface ClaimedMail extends ClaimedJob {
  to_address: string;
  /** The message as sent (renderedMessage). */
  subject: string;
  text_body: string;
  html_body: string;
  /** The row's own values for a template's slot (null for a single mail): what redaction rewrites. */
  template_id: string | null;
  slot_text: string | null;
  slot_html: string | null;
}

/**
 * mail_outbox as a runtime job store. A claim counts the attempt and moves next_attempt_at past the
 * lease in the statement that selects the rows FOR UPDATE SKIP LOCKED, then commits: no lock is held
 * across the network, and no other process claims the row while the lease runs. Every later write
 * is guarded by the attempt it claimed, so a stale worker whose lease ran out cannot overwrite a
 * newer attempt.
 *
 * Unless `isMailbox`, the statement that marks a mail sent, or failed for good, also replaces every
 * token in its stored message (src/mail/redaction.ts): once it has left, the row is a delivery
 * record and no longer holds a live link. A pending row keeps its tokens, because a retry sends it
 * again. With `isMailbox` (the local development mailbox) the row IS the delivered message, which
 * developers open at /api/dev/mailbox, so its links stay.
 */
export function createMailOutboxStore(options: { isMailbox: boolean }): JobStore<ClaimedMail> {
  const redacted = (mail: ClaimedMail): RedactedMessage =>
    options.isMailbox ? { text_body: null, html_body: null, slot_text: null, slot_html: null } : redactedMessage(mail);
  return {
    async stats(db: Db) {
      const [row] = await queryRows<{ depth: number; oldest_at: Date | string | null }>(
        db,
        sql`SELECT count(*)::int AS depth, min(created_at) AS oldest_at FROM mail_outbox WHERE status = 'pending'`,
      );
      return { depth: Number(row?.depth ?? 0), oldestAt: row?.oldest_at ? new Date(row.oldest_at) : null };
    },
    claim(db: Db, { now, leaseUntil, limit }) {
      return queryRows<ClaimedMail>(
        db,
        sql`WITH claimed AS (
              UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ${leaseUntil}
              WHERE id IN (SELECT id FROM mail_outbox
                            WHERE status = 'pending' AND next_attempt_at <= ${now}
                            ORDER BY next_attempt_at, id
                            LIMIT ${limit}
                            FOR UPDATE SKIP LOCKED)
              RETURNING id, to_address, subject, text_body, html_body, template_id, slot_text, slot_html, attempts)
            SELECT m.id, m.to_address, ${renderedMessage}, m.template_id, m.slot_text, m.slot_html, m.attempts
            FROM claimed m LEFT JOIN mail_templates t ON t.id = m.template_id`,
      );
    },
    async succeeded(db, mail, now) {
      await markSent(db, [mail], now, redacted);
    },
    // The runtime groups the messages its lanes finish together into one statement (a bulk
    // invitation's 1,000 mails cost about 250 instead of 1,000 with 4 lanes), without letting more
    // messages be sent but unmarked at once than before: a crash still re-sends at most one per lane.
    async succeededMany(db, mails, now) {
      await markSent(db, mails, now, redacted);
    },
    async retryAt(db, mail, at, error) {
      await db.execute(
        sql`UPDATE mail_outbox SET next_attempt_at = ${at}, last_error = ${error}
            WHERE id = ${mail.id} AND status = 'pending' AND attempts = ${mail.attempts}`,
      );
    },
    // Failed for good: never sent again, so it keeps no token either. The recipient never got it, so
    // the token left in the row could only ever reach someone who copies the database.
    async failed(db, mail, error) {
      const message = redacted(mail);
      await db.execute(
        sql`UPDATE mail_outbox SET status = 'failed', last_error = ${error},
                   text_body = coalesce(${message.text_body}::text, text_body),
                   html_body = coalesce(${message.html_body}::text, html_body),
                   slot_text = coalesce(${message.slot_text}::text, slot_text),
                   slot_html = coalesce(${message.slot_html}::text, slot_html)
            WHERE id = ${mail.id} AND status = 'pending' AND attempts = ${mail.attempts}`,
      );
    },
  };
}

/** The store of a transport that sends (SMTP): sent and failed rows keep no token. */
export const mailOutboxStore = createMailOutboxStore({ isMailbox: false });

/**
 * Marks sent each mail still pending under the attempt it was claimed with (a stale worker's mark is
 * a no-op) and, in the same statement, stores its redacted message: no moment is committed where
 * the row says sent and still holds a token. Only the columns that had a token travel back (null
 * keeps the column), so a mail without a link costs what it did before.
 */
async function markSent(
  db: Db,
  mails: ClaimedMail[],
  now: Date,
  redacted: (mail: ClaimedMail) => RedactedMessage,
): Promise<void> {
  const done = jsonRecordset(
    mails.map((mail) => ({ id: mail.id, attempts: Number(mail.attempts), ...redacted(mail) })),
    { id: 'uuid', attempts: 'integer', text_body: 'text', html_body: 'text', slot_text: 'text', slot_html: 'text' },
  );
  await queryRowsPrepared(
    db,
    'roster_mail_sent',
    sql`UPDATE mail_outbox m SET status = 'sent', sent_at = ${now}, last_error = NULL,
               text_body = coalesce(done.text_body, m.text_body), html_body = coalesce(done.html_body, m.html_body),
               slot_text = coalesce(done.slot_text, m.slot_text), slot_html = coalesce(done.slot_html, m.slot_html)
        FROM ${done} AS done
        WHERE m.id = done.id AND m.status = 'pending' AND m.attempts = done.attempts`,
  );
}

/**
 * Retention (src/retention): deletes up to `limit` sent or failed mails created before `before`,
 * and answers how many. A pending mail is never deleted, however old.
 */
export function deleteFinishedMails(db: Queryable, input: { before: Date; limit: number }): Promise<number> {
  return deleteChunk(db, {
    table: sql`mail_outbox`,
    key: sql`id`,
    where: sql`created_at < ${input.before} AND status <> 'pending'`,
    limit: input.limit,
  });
}

/**
 * Retention: deletes up to `limit` templates created before `before` that no mail names any more.
 * A template and its mails are written in one statement with one creation time, so only mails
 * created before `before` can name it: after deleteFinishedMails, its pending ones (read through
 * the creation-time index, not the whole outbox).
 */
export function deleteUnusedMailTemplates(db: Queryable, input: { before: Date; limit: number }): Promise<number> {
  return deleteChunk(db, {
    table: sql`mail_templates`,
    key: sql`id`,
    where: sql`created_at < ${input.before}
               AND NOT EXISTS (SELECT 1 FROM mail_outbox m WHERE m.template_id = mail_templates.id AND m.created_at < ${input.before})`,
    limit: input.limit,
  });
}
