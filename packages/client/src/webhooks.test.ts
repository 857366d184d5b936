// verifyWebhook against signatures computed here from the Standard Webhooks 1.0 rules (HMAC-SHA256
// over "id.timestamp.body", keyed with the base64 part of `whsec_…`), not by the library it wraps.
import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '../../../src/webhooks/schema.ts';
import type { EventType } from '../../../src/events/types.ts';
import {
  ROSTER_EVENT_TYPES,
  verifyWebhook,
  WebhookVerificationError,
  type KnownRosterEventType,
  type RosterWebhookEvent,
} from './webhooks.ts';

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

  it('throws a TypeError naming the raw body for a parsed body (regression: "No matching signature found")', () => {
    const { body, headers } = delivery();
    const parsed: unknown = JSON.parse(body);
    expect(() => verifyWebhook(secret, headers, parsed as string)).toThrow(TypeError);
    expect(() => verifyWebhook(secret, headers, parsed as string)).toThrow(/raw body/);
    // A JSON delivery whose route took no raw body is the route's bug too.
    const json = { ...headers, 'content-type': 'application/json' };
    expect(() => verifyWebhook(secret, json, undefined as unknown as string)).toThrow(TypeError);
  });

  it('refuses a request without the signature headers, or with no body of another type, as not a delivery (regression: 500)', () => {
    const { headers } = delivery();
    expect(() => verifyWebhook(secret, {}, undefined as unknown as string)).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(secret, { 'content-type': 'text/plain' }, undefined as unknown as string)).toThrow(
      WebhookVerificationError,
    );
    const plain = { ...headers, 'content-type': 'text/plain' };
    expect(() => verifyWebhook(secret, plain, undefined as unknown as string)).toThrow(WebhookVerificationError);
  });

  it('accepts the raw body as a Uint8Array that is not a Buffer (a fetch-style arrayBuffer)', () => {
    const { id, body, headers } = delivery();
    expect(verifyWebhook(secret, headers, new TextEncoder().encode(body)).id).toBe(id);
  });

  it('throws WebhookVerificationError for a correctly signed body that is not JSON (regression: SyntaxError)', () => {
    for (const text of ['not json', '<html></html>', 'null', '[]']) {
      const { body, headers } = delivery({ body: text });
      expect(() => verifyWebhook(secret, headers, body), text).toThrow(WebhookVerificationError);
    }
  });
});

describe('RosterEventType', () => {
  it("lists exactly the server's event types (regression: storage.recounted was missing)", () => {
    expect([...ROSTER_EVENT_TYPES].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    // And the compiler holds the union to the server's EventType (checked by tsc -p packages/client).
    expectTypeOf<KnownRosterEventType>().toEqualTypeOf<EventType>();
  });
});

// The receivers of docs/client.md ("Webhooks"), as written there.
async function fastifyReceiver(onEvent: (event: RosterWebhookEvent) => void): Promise<string> {
  const app = Fastify();
  await app.register(async (receiver) => {
    // In this scope only: JSON bodies stay the raw string that the signature covers.
    receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    receiver.post('/webhooks/roster', async (request, reply) => {
      let event: RosterWebhookEvent;
      try {
        event = verifyWebhook(secret, request.headers, request.body as string);
      } catch (error) {
        if (error instanceof WebhookVerificationError) return reply.status(400).send(); // forged, altered or stale
        throw error; // a TypeError: this route did not get the raw body (500, in the host's log)
      }
      onEvent(event);
      return reply.status(204).send();
    });
  });
  app.post('/elsewhere', async (request) => request.body); // other routes keep Fastify's JSON parser
  await app.listen({ port: 0, host: '127.0.0.1' });
  onTestFinished(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function expressReceiver(onEvent: (event: RosterWebhookEvent) => void): Promise<string> {
  const app = express();
  // Before any app-wide express.json(): this route takes the body as a Buffer.
  app.post('/webhooks/roster', express.raw({ type: 'application/json' }), (req, res) => {
    let event: RosterWebhookEvent;
    try {
      event = verifyWebhook(secret, req.headers, req.body);
    } catch (error) {
      if (error instanceof WebhookVerificationError) return void res.status(400).end();
      throw error;
    }
    onEvent(event);
    res.status(204).end();
  });
  app.use(express.json());
  // The mistake the TypeError names: a route behind express.json() gets a parsed object.
  app.post('/webhooks/parsed', (req, res) => {
    verifyWebhook(secret, req.headers, req.body);
    res.status(204).end();
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.each([
  ['Fastify', fastifyReceiver],
  ['Express', expressReceiver],
])('the raw-body webhook receiver of docs/client.md under %s', (name, startReceiver) => {
  it('verifies a signed delivery (204) and refuses an altered one (400)', async () => {
    const received: RosterWebhookEvent[] = [];
    const url = await startReceiver((event) => received.push(event));
    const { id, body, headers } = delivery();
    const post = (text: string, path = '/webhooks/roster') =>
      fetch(`${url}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: text });

    expect((await post(body)).status).toBe(204);
    expect(received.map((event) => event.id)).toEqual([id]);
    expect((await post(body.replace('u-1', 'u-2'))).status).toBe(400);
    expect(received).toHaveLength(1);
    // Junk without signature headers, with no body or another content type, is refused, not a 500.
    for (const junk of [{}, { 'content-type': 'text/plain', body: 'hi' }]) {
      const { body: text, ...junkHeaders } = junk as { body?: string; 'content-type'?: string };
      const reply = await fetch(`${url}/webhooks/roster`, { method: 'POST', headers: junkHeaders, body: text });
      expect(reply.status, JSON.stringify(junk)).toBe(400);
    }
    if (name === 'Express') expect((await post(body, '/webhooks/parsed')).status).toBe(500);
  });
});
