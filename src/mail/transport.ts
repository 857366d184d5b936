import nodemailer from 'nodemailer';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';

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
      await transporter.sendMail({
        from: config.mailFrom,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        headers: { 'X-Roster-Mail-Id': message.id },
        // One attempt per claim: the worker owns retries and their backoff.
        disableFileAccess: true,
        disableUrlAccess: true,
      });
    },
    close: () => transporter.close(),
  };
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
