import { expect } from 'vitest';
import type { Http } from './http.ts';

export interface MailboxMessage {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  created_at: string;
  status: string;
  links: string[];
}

/** Messages of the development mailbox for one recipient, newest first. */
export async function mailTo(http: Http, to: string): Promise<MailboxMessage[]> {
  const reply = await http.get('/api/dev/mailbox', { query: { to } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.messages;
}

/** The newest link to `to` whose path contains `pathPart` ('/invite/' or '/verify-email'). */
export async function latestLink(http: Http, to: string, pathPart: string): Promise<string> {
  for (const message of await mailTo(http, to)) {
    const link = message.links.find((candidate) => candidate.includes(pathPart));
    if (link) return link;
  }
  throw new Error(`no mail to ${to} with a link containing ${pathPart}`);
}

export function inviteTokenOf(link: string): string {
  const token = link.split('/invite/')[1];
  if (!token) throw new Error(`not an invitation link: ${link}`);
  return token;
}

export function verifyTokenOf(link: string): string {
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error(`not a verification link: ${link}`);
  return token;
}
