import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

// A local stand-in for the Stripe endpoints Roster calls, reached through STRIPE_API_BASE. It keeps
// subscriptions in memory (tests set them as "Stripe holds them now") and records every request.

export interface StubRequest {
  method: string;
  path: string;
  /** The form fields the SDK sent, flat: `line_items[0][price]`. */
  params: Record<string, string>;
}

export interface StubSubscription {
  id: string;
  customer: string;
  status: Stripe.Subscription.Status;
  quantity: number;
  price: string;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: number;
  metadata: Record<string, string>;
}

/** A Checkout Session as the stub keeps it: open until expired or completed (completeCheckout). */
export interface StubCheckoutSession {
  id: string;
  object: 'checkout.session';
  customer: string;
  status: 'open' | 'complete' | 'expired';
}

export interface StripeStub {
  url: string;
  requests: StubRequest[];
  subscriptions: Map<string, StubSubscription>;
  sessions: Map<string, StubCheckoutSession>;
  /** Makes the next `count` API calls fail with a 500 (Stripe down). */
  failNext(count: number): void;
  setSubscription(input: Partial<StubSubscription> & { id: string; customer: string }): StubSubscription;
  subscriptionJson(id: string): Record<string, unknown>;
  close(): Promise<void>;
}

export const STUB_PRICE_TEAM = 'price_team_test';

export async function startStripeStub(): Promise<StripeStub> {
  const requests: StubRequest[] = [];
  const subscriptions = new Map<string, StubSubscription>();
  const sessions = new Map<string, StubCheckoutSession>();
  let counter = 0;
  let failures = 0;
  const nextId = (prefix: string) => `${prefix}_${(counter += 1).toString().padStart(6, '0')}`;

  function subscriptionJson(id: string): Record<string, unknown> {
    const subscription = subscriptions.get(id);
    if (!subscription) throw new Error(`no stub subscription ${id}`);
    return {
      id,
      object: 'subscription',
      customer: subscription.customer,
      status: subscription.status,
      cancel_at_period_end: subscription.cancelAtPeriodEnd,
      metadata: subscription.metadata,
      items: {
        object: 'list',
        data: [
          {
            id: `si_${id}`,
            object: 'subscription_item',
            price: { id: subscription.price, object: 'price' },
            quantity: subscription.quantity,
            current_period_end: subscription.currentPeriodEnd,
          },
        ],
      },
    };
  }

  function route(method: string, path: string, params: Record<string, string>): [number, unknown] {
    let match: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/customers') {
      return [200, { id: nextId('cus'), object: 'customer', email: params.email ?? null, metadata: {} }];
    }
    if (method === 'GET' && path === '/v1/checkout/sessions') {
      const data = [...sessions.values()].filter(
        (session) => session.customer === params.customer && (!params.status || session.status === params.status),
      );
      return [200, { object: 'list', data, has_more: false, url: path }];
    }
    if (method === 'POST' && (match = /^\/v1\/checkout\/sessions\/([\w-]+)\/expire$/.exec(path))) {
      const session = sessions.get(match[1]!);
      if (!session) return [404, { error: { type: 'invalid_request_error', message: 'No such checkout.session' } }];
      if (session.status !== 'open') {
        return [
          400,
          { error: { type: 'invalid_request_error', message: 'Only Checkout Sessions with a status of open can be expired.' } },
        ];
      }
      session.status = 'expired';
      return [200, session];
    }
    if (method === 'GET' && path === '/v1/subscriptions') {
      const data = [...subscriptions.values()]
        .filter((subscription) => subscription.customer === params.customer)
        .map((subscription) => subscriptionJson(subscription.id));
      return [200, { object: 'list', data, has_more: false, url: path }];
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const id = nextId('cs');
      sessions.set(id, { id, object: 'checkout.session', customer: params.customer ?? '', status: 'open' });
      return [
        200,
        {
          id,
          object: 'checkout.session',
          mode: params.mode,
          customer: params.customer,
          url: `https://checkout.stripe.test/${id}`,
        },
      ];
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      const id = nextId('bps');
      return [200, { id, object: 'billing_portal.session', customer: params.customer, url: `https://billing.stripe.test/${id}` }];
    }
    if (method === 'DELETE' && (match = /^\/v1\/subscriptions\/([\w-]+)$/.exec(path))) {
      const subscription = subscriptions.get(match[1]!);
      if (!subscription) return [404, { error: { type: 'invalid_request_error', message: 'No such subscription' } }];
      if (subscription.status === 'canceled') {
        return [400, { error: { type: 'invalid_request_error', message: 'This subscription is already canceled' } }];
      }
      subscription.status = 'canceled';
      return [200, subscriptionJson(subscription.id)];
    }
    if ((match = /^\/v1\/subscriptions\/([\w-]+)$/.exec(path))) {
      const subscription = subscriptions.get(match[1]!);
      if (!subscription) return [404, { error: { type: 'invalid_request_error', message: 'No such subscription' } }];
      return [200, subscriptionJson(subscription.id)];
    }
    if (method === 'POST' && (match = /^\/v1\/subscription_items\/si_([\w-]+)$/.exec(path))) {
      const subscription = subscriptions.get(match[1]!);
      if (!subscription) return [404, { error: { type: 'invalid_request_error', message: 'No such subscription item' } }];
      if (params.quantity) subscription.quantity = Number(params.quantity);
      return [200, { id: `si_${subscription.id}`, object: 'subscription_item', quantity: subscription.quantity }];
    }
    return [404, { error: { type: 'invalid_request_error', message: `stub has no ${method} ${path}` } }];
  }

  const server: Server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const [path = '', query = ''] = (request.url ?? '').split('?');
      // The SDK sends a DELETE's parameters in the query string, a POST's in the body.
      const params = Object.fromEntries([...new URLSearchParams(query), ...new URLSearchParams(body)]);
      requests.push({ method: request.method ?? '', path, params });
      let status: number;
      let reply: unknown;
      if (failures > 0) {
        failures -= 1;
        [status, reply] = [500, { error: { type: 'api_error', message: 'stub failure' } }];
      } else {
        [status, reply] = route(request.method ?? '', path, params);
      }
      response.writeHead(status, { 'content-type': 'application/json', 'request-id': nextId('req') });
      response.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    subscriptions,
    sessions,
    failNext(count) {
      failures = count;
    },
    setSubscription(input) {
      const current = subscriptions.get(input.id);
      const next: StubSubscription = {
        status: 'active',
        quantity: 1,
        price: STUB_PRICE_TEAM,
        cancelAtPeriodEnd: false,
        currentPeriodEnd: 1_900_000_000,
        metadata: {},
        ...current,
        ...input,
      };
      subscriptions.set(input.id, next);
      return next;
    },
    subscriptionJson,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** A Stripe event as its webhook delivers it: the exact body and its `Stripe-Signature` header. */
export function signedEvent(
  input: { id?: string; type: string; object: Record<string, unknown>; created?: number },
  options: { secret: string; timestamp?: number; signWith?: string },
): { id: string; body: string; signature: string } {
  const id = input.id ?? `evt_${Math.random().toString(36).slice(2)}`;
  const created = input.created ?? Math.floor(Date.now() / 1000);
  const body = JSON.stringify({
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    type: input.type,
    data: { object: input.object },
  });
  const signature = stripeWebhooks().generateTestHeaderString({
    payload: body,
    secret: options.signWith ?? options.secret,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
  });
  return { id, body, signature };
}

let sdk: Stripe | undefined;
function stripeWebhooks() {
  sdk ??= new Stripe('sk_test_signing_only');
  return sdk.webhooks;
}
