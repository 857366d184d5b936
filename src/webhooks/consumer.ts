import type { LookupFunction } from 'node:net';
import { Agent, fetch, type Dispatcher, type Response } from 'undici';
import type { Clock } from '../core/context.ts';
import { systemClock } from '../core/context.ts';
import type { Consumer } from '../events/runtime.ts';
import { AddressNotPublicError, receiverConnector } from './address.ts';
import { WEBHOOK_QUEUE, webhookDeliveryStore, type ClaimedDelivery } from './queries.ts';
import { decryptSecret, signDelivery } from './signing.ts';

/**
 * Retries: 10 s doubling to a 6-hour cap, ±20% jitter; the 17th failure gives up. Even with every
 * delay at its shortest (-20%) the retries span more than a day (28 h; checked in consumer.test.ts).
 * A delivery given up is `failed` in the log and its lane moves on to the org's next event.
 */
export const WEBHOOK_RETRY_POLICY = { maxAttempts: 17, retryBaseMs: 10_000, retryMaxMs: 6 * 3_600_000 };

/** How long a receiver may take to answer one attempt before it counts as failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

export interface WebhookDeliveryOptions extends Pick<
  Consumer<ClaimedDelivery>,
  'maxAttempts' | 'retryBaseMs' | 'retryMaxMs' | 'batchSize' | 'concurrency'
> {
  timeoutMs?: number;
  clock?: Clock;
  /**
   * Deliver to loopback, private and other non-public addresses too. Off unless said: production
   * refuses them (background.ts passes `!refusesPrivateReceivers(config)`).
   */
  allowPrivateNetworks?: boolean;
  /** How host names resolve (tests); the system resolver by default. */
  lookup?: LookupFunction;
}

/** Webhook delivery as a consumer of the worker runtime: one signed POST per attempt. */
export function webhookDelivery(key: Buffer, options: WebhookDeliveryOptions = {}): Consumer<ClaimedDelivery> {
  const { timeoutMs = WEBHOOK_TIMEOUT_MS, clock = systemClock, allowPrivateNetworks = false, lookup, ...policy } = options;
  // Every attempt connects through this agent, whose connector checks the address it connects to.
  const dispatcher = new Agent({ connect: receiverConnector({ refusePrivate: !allowPrivateNetworks, lookup }) });
  return {
    queue: WEBHOOK_QUEUE,
    store: webhookDeliveryStore,
    ...WEBHOOK_RETRY_POLICY,
    // The lease outlasts the request timeout, so no other process claims a delivery still in flight.
    leaseMs: timeoutMs * 6,
    concurrency: 16,
    detached: true,
    ...policy,
    logFields: (delivery) => ({ eventId: delivery.event_id, endpointId: delivery.endpoint_id, orgId: delivery.org_id }),
    run: (delivery, { signal }) => deliver(key, delivery, { timeoutMs, clock, dispatcher, stopping: signal }),
  };
}

/** The body every receiver gets: the event as the contract names it. */
export function deliveryBody(delivery: ClaimedDelivery): string {
  const data = typeof delivery.event_data === 'string' ? JSON.parse(delivery.event_data) : delivery.event_data;
  return JSON.stringify({
    id: delivery.event_id,
    type: delivery.event_type,
    created_at: new Date(delivery.event_created_at).toISOString(),
    org_id: delivery.org_id,
    data,
  });
}

async function deliver(
  key: Buffer,
  delivery: ClaimedDelivery,
  options: { timeoutMs: number; clock: Clock; dispatcher: Dispatcher; stopping: AbortSignal },
): Promise<void> {
  const now = options.clock.now();
  const secrets = [decryptSecret(key, delivery.endpoint_id, Buffer.from(delivery.secret_encrypted))];
  // During a rotation the previous secret signs too, until it expires.
  if (
    delivery.previous_secret_encrypted &&
    delivery.previous_secret_expires_at &&
    new Date(delivery.previous_secret_expires_at) > now
  ) {
    secrets.push(decryptSecret(key, delivery.endpoint_id, Buffer.from(delivery.previous_secret_encrypted)));
  }
  const body = deliveryBody(delivery);
  const headers = signDelivery(secrets, { id: delivery.event_id, timestamp: now, body });
  delivery.httpStatus = null;
  // A receiver that hangs fails this attempt after the timeout; stopping the server ends it too
  // (the delivery is retried later: at least once). The timer holds its controller, and `signal` is
  // held until the answer: Node 20 links AbortSignal.timeout() and fetch's own signal to their
  // sources only weakly, and after a garbage collection an inline `AbortSignal.any([AbortSignal
  // .timeout(ms), …])` never aborted, so a hanging receiver held the attempt for good.
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new DOMException(`no answer within ${options.timeoutMs} ms`, 'TimeoutError')),
    options.timeoutMs,
  );
  const signal = AbortSignal.any([timeout.signal, options.stopping]);
  let response: Response;
  try {
    response = await fetch(delivery.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Roster-Webhooks/1', ...headers },
      body,
      signal,
      redirect: 'manual',
      dispatcher: options.dispatcher,
    });
  } catch (error) {
    throw new Error(`POST failed: ${failureReason(error, signal)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  delivery.httpStatus = response.status;
  // The answer's body is not read: only the status counts (2xx: delivered).
  await response.body?.cancel().catch(() => {});
  if (response.status < 200 || response.status > 299) throw new Error(`The receiver answered HTTP ${response.status}`);
}

/**
 * One of a few constant reasons, never the socket's own error text: the delivery log is readable
 * by a service token, and raw errors (ECONNREFUSED vs "wrong version number" vs "socket hang up")
 * would tell it which ports of which hosts are open.
 */
function failureReason(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') return reason.message;
    return 'the server stopped before the receiver answered';
  }
  const causes = causesOf(error);
  if (causes.some((cause) => cause instanceof AddressNotPublicError)) return new AddressNotPublicError().message;
  const codes = new Set(causes.map((cause) => (cause as { code?: unknown }).code).filter((code) => typeof code === 'string'));
  const has = (...names: string[]) => names.some((name) => codes.has(name));
  if (has('ECONNREFUSED')) return 'connection refused';
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL')) return "the receiver's host name did not resolve";
  if (has('UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT')) return 'connecting timed out';
  if (has('EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL')) return 'the receiver is unreachable';
  if ([...codes].some(isCertificateError)) return "the receiver's TLS certificate was not accepted";
  if ([...codes].some((code) => code.startsWith('ERR_SSL_') || code === 'EPROTO')) return 'TLS handshake failed';
  if (has('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED')) return 'the receiver closed the connection';
  return 'connection failed';
}

/** The error and its causes (fetch wraps the socket's error; connecting to several addresses aggregates them). */
function causesOf(error: unknown, depth = 0): unknown[] {
  if (!(error instanceof Error) || depth > 4) return [error];
  const nested = error instanceof AggregateError ? error.errors : [];
  const cause = (error as { cause?: unknown }).cause;
  return [
    error,
    ...(cause === undefined ? [] : causesOf(cause, depth + 1)),
    ...nested.flatMap((inner) => causesOf(inner, depth + 1)),
  ];
}

/** A certificate this side refused: ERR_TLS_CERT_ALTNAME_INVALID, CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, UNABLE_TO_VERIFY_LEAF_SIGNATURE, … */
function isCertificateError(code: string): boolean {
  return !code.startsWith('ERR_SSL_') && (code.includes('CERT') || code.startsWith('UNABLE_TO_'));
}
