import { setImmediate as nextTurn } from 'node:timers/promises';
import { PermanentJobError, type Consumer } from '../events/runtime.ts';
import { createMailOutboxStore, MAIL_QUEUE, type ClaimedMail } from './queries.ts';
import { unsealText, UnsealError } from './sealing.ts';
import type { MailTransport } from './transport.ts';

export type MailDeliveryOptions = Pick<
  Consumer<ClaimedMail>,
  'maxAttempts' | 'retryBaseMs' | 'retryMaxMs' | 'leaseMs' | 'batchSize' | 'concurrency'
>;

/**
 * Mail delivery as a consumer of the worker runtime: the runtime claims due mail_outbox rows,
 * leases them, retries with backoff and gives up visibly; this sends one message per attempt.
 * The lease (2 minutes) outlasts the SMTP timeouts (20 s), so a hung server fails the attempt
 * before another process could claim the same row again. `outboxKey` opens the tokens sealed in the
 * queued messages (src/mail/sealing.ts outboxKey), only for the message that leaves.
 */
export function mailDelivery(
  transport: MailTransport,
  outboxKey: Buffer,
  options: MailDeliveryOptions = {},
): Consumer<ClaimedMail> {
  return {
    queue: MAIL_QUEUE,
    // Over SMTP a sent row keeps no token (a database copy or backup must not hold live links).
    // The local mailbox has nowhere else to keep the message: the row is what developers read at
    // /api/dev/mailbox (and, in production without SMTP_URL, the only copy of an undelivered email,
    // as the start-up warning says), so its links stay until retention deletes it.
    store: createMailOutboxStore({ isMailbox: transport.name === 'local-mailbox' }),
    leaseMs: 120_000,
    ...options,
    logFields: (mail) => ({ mailId: mail.id }),
    run: async (mail) => {
      // One event-loop turn per message. On embedded PGlite every query runs on this thread and
      // resolves without I/O, so a round of a bulk invitation's 1,000 mails was one chain of
      // microtasks that starved HTTP for seconds (replies written but not flushed, new requests
      // not accepted). Yielding lets requests interleave with delivery; on PostgreSQL it is free.
      await nextTurn();
      let text: string, html: string;
      try {
        text = unsealText(outboxKey, mail.text_body);
        html = unsealText(outboxKey, mail.html_body);
      } catch (error) {
        // The same on every attempt: failed for good at once (and redacted).
        throw error instanceof UnsealError ? new PermanentJobError(error.message, { cause: error }) : error;
      }
      await transport.send({ id: mail.id, to: mail.to_address, subject: mail.subject, text, html });
    },
  };
}
