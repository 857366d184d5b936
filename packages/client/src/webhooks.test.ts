// verifyWebhook against signatures computed here from the Standard Webhooks 1.0 rules (HMAC-SHA256
// over "id.timestamp.body", keyed with the base64 part of `whsec_…`), not by the library it wraps.
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from './webhooks.ts';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const otherSecret = `whsec_${randomBytes(32).toString('base64')}`;

function sign(key: string, id: string, timestamp: number, body: string): string {
  const raw = Buffer.from(key.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', raw).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

function delivery(options: { key?: string; at?: number; body?: string } = {}) {
  const id = `evt_${randomBytes(6).toString('hex')}`;
  const timestamp = options.at ?? Math.floor(Date.now() / 1000);
  const body =
    options.body ??
    JSON.stringify({
      id,
      type: 'member.disabled',
      created_at: new Date().toISOString(),
      org_id: 'org-1',
      data: { user_id: 'u-1' },
    });
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(options.key ?? secret, id, timestamp, body),
  };
  return { id, body, headers };
}

describe('verifyWebhook', () => {
  it('returns the typed event of a correctly signed delivery (string or Buffer body, Node or fetch headers)', () => {
    const { id, body, headers } = delivery();
    const event = verifyWebhook(secret, headers, body);
    expect(event).toMatchObject({ id, type: 'member.disabled', org_id: 'org-1', data: { user_id: 'u-1' } });
    expect(verifyWebhook(secret, new Headers(headers), Buffer.from(body)).id).toBe(id);
  });

  it('accepts a delivery signed during a secret rotation when one of the signatures matches', () => {
    const { body, headers } = delivery();
    const rotated = {
      ...headers,
      'webhook-signature': `${sign(otherSecret, headers['webhook-id'], Number(headers['webhook-timestamp']), body)} ${headers['webhook-signature']}`,
    };
    expect(verifyWebhook(secret, rotated, body).type).toBe('member.disabled');
  });

  it('throws WebhookVerificationError for a changed body, another secret, a stale timestamp or missing headers', () => {
    const { body, headers } = delivery();
    expect(() => verifyWebhook(secret, headers, body.replace('u-1', 'u-2'))).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(otherSecret, headers, body)).toThrow(WebhookVerificationError);
    const stale = delivery({ at: Math.floor(Date.now() / 1000) - 3600 });
    expect(() => verifyWebhook(secret, stale.headers, stale.body)).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(secret, { 'webhook-id': headers['webhook-id'] }, body)).toThrow(WebhookVerificationError);
  });

  it('refuses a correctly signed body that is not a Roster event', () => {
    const { body, headers } = delivery({ body: JSON.stringify({ hello: 'world' }) });
    expect(() => verifyWebhook(secret, headers, body)).toThrow(WebhookVerificationError);
  });
});
