import nodemailer from 'nodemailer';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import { PermanentJobError } from '../events/runtime.ts';

export interface MailMessage {
  /** The outbox row id: sent as a header so a duplicate delivery is recognizable downstream. */
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** The seam between the delivery worker and the outside world; chosen once at start-up. */
export interface MailTransport {
  readonly name: 'smtp' | 'local-mailbox';
  send(message: MailMessage): Promise<void>;
  close(): void;
}

// Below the worker's claim lease, so a hung server fails the attempt before another process
// could claim the same row again.
const SMTP_TIMEOUT_MS = 20_000;

/** nodemailer over SMTP_URL. Recipient, subject and bodies are separate fields: nodemailer encodes them, so no value can add a header. */
export function createSmtpTransport(config: Pick<Config, 'smtpUrl' | 'mailFrom'>): MailTransport {
  if (!config.smtpUrl) throw new Error('SMTP_URL is not set');
  const transporter = nodemailer.createTransport({
    url: config.smtpUrl,
    pool: true,
    maxConnections: 3,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  return {
    name: 'smtp',
    async send(message) {
      await transporter
        .sendMail({
          from: config.mailFrom,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          headers: { 'X-Roster-Mail-Id': message.id },
          // One attempt per claim: the worker owns retries and their backoff.
          disableFileAccess: true,
          disableUrlAccess: true,
        })
        .catch((error: unknown) => {
          throw isPermanentRejection(error) ? new PermanentJobError(smtpMessage(error), { cause: error }) : error;
        });
    },
    close: () => transporter.close(),
  };
}

// A 5xx reply to the envelope or the message (550 no such mailbox, 554 rejected) will be the same
// on every retry: the mail is marked failed at once and the queue moves on. 4xx (421 busy, 451)
// and connection failures are retried; so is a 5xx to the connection or AUTH (a configuration
// mistake an operator fixes while the mail waits).
const MESSAGE_COMMANDS = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);

function isPermanentRejection(error: unknown): boolean {
  const { responseCode, command } = (error ?? {}) as { responseCode?: unknown; command?: unknown };
  return (
    typeof responseCode === 'number' &&
    responseCode >= 500 &&
    responseCode < 600 &&
    typeof command === 'string' &&
    MESSAGE_COMMANDS.has(command)
  );
}

function smtpMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * No SMTP server configured: the outbox row itself is the delivered message, readable at
 * `/api/dev/mailbox` (development only). Nothing leaves the machine.
 */
export function createLocalMailboxTransport(logger: FastifyBaseLogger): MailTransport {
  return {
    name: 'local-mailbox',
    async send(message) {
      logger.info({ mailId: message.id, to: message.to }, 'mail queued to local mailbox, see /api/dev/mailbox');
    },
    close: () => {},
  };
}
