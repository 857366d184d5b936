import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Consumer } from '../events/runtime.ts';
import { MAIL_QUEUE, mailOutboxStore, type ClaimedMail } from './queries.ts';
import type { MailTransport } from './transport.ts';

export type MailDeliveryOptions = Pick<
  Consumer<ClaimedMail>,
  'maxAttempts' | 'retryBaseMs' | 'retryMaxMs' | 'leaseMs' | 'batchSize' | 'concurrency'
>;

/**
 * Mail delivery as a consumer of the worker runtime: the runtime claims due mail_outbox rows,
 * leases them, retries with backoff and gives up visibly; this sends one message per attempt.
 * The lease (2 minutes) outlasts the SMTP timeouts (20 s), so a hung server fails the attempt
 * before another process could claim the same row again.
 */
export function mailDelivery(transport: MailTransport, options: MailDeliveryOptions = {}): Consumer<ClaimedMail> {
  return {
    queue: MAIL_QUEUE,
    store: mailOutboxStore,
    leaseMs: 120_000,
    ...options,
    logFields: (mail) => ({ mailId: mail.id }),
    run: async (mail) => {
      // One event-loop turn per message. On embedded PGlite every query runs on this thread and
      // resolves without I/O, so a round of a bulk invitation's 1,000 mails was one chain of
      // microtasks that starved HTTP for seconds (replies written but not flushed, new requests
      // not accepted). Yielding lets requests interleave with delivery; on PostgreSQL it is free.
      await nextTurn();
      await transport.send({
        id: mail.id,
        to: mail.to_address,
        subject: mail.subject,
        text: mail.text_body,
        html: mail.html_body,
      });
    },
  };
}
