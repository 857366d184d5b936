import type { Queryable } from '../db/client.ts';
import { newestMails } from './queries.ts';
import { unsealText, UnsealError } from './sealing.ts';

export interface MailboxMessage {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  createdAt: Date;
  status: 'pending' | 'sent' | 'failed';
}

/**
 * Newest first; `to` matches the recipient case-insensitively. The messages as sent: their sealed
 * tokens opened with `outboxKey` (src/mail/sealing.ts; one sealed with another key stays sealed).
 */
export async function mailboxMessages(
  db: Queryable,
  outboxKey: Buffer,
  options: { to?: string; limit: number },
): Promise<MailboxMessage[]> {
  const rows = await newestMails(db, options);
  return rows.map((row) => ({
    id: row.id,
    to: row.to_address,
    subject: row.subject,
    text: opened(outboxKey, row.text_body),
    html: opened(outboxKey, row.html_body),
    createdAt: new Date(row.created_at),
    status: row.status,
  }));
}

export function linksIn(text: string): string[] {
  return [...text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((match) => match[0]);
}

function opened(key: Buffer, text: string): string {
  try {
    return unsealText(key, text);
  } catch (error) {
    if (error instanceof UnsealError) return text;
    throw error;
  }
}
