import type { Queryable } from '../db/client.ts';
import { newestMails } from './queries.ts';

export interface MailboxMessage {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  createdAt: Date;
  status: 'pending' | 'sent' | 'failed';
}

/** Newest first; `to` matches the recipient case-insensitively. */
export async function mailboxMessages(db: Queryable, options: { to?: string; limit: number }): Promise<MailboxMessage[]> {
  const rows = await newestMails(db, options);
  return rows.map((row) => ({
    id: row.id,
    to: row.to_address,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    createdAt: new Date(row.created_at),
    status: row.status,
  }));
}

export function linksIn(text: string): string[] {
  return [...text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((match) => match[0]);
}
