import { randomUUID } from 'node:crypto';
import { recordGlobalAudit } from '../audit/record.ts';
import { authorizeCaller } from '../auth/permissions.ts';
import { requireCaller, type Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { decodeIdCursor, encodeIdCursor } from '../core/cursor.ts';
import { isUuid } from '../core/ids.ts';
import { findOrg } from '../orgs/queries.ts';
import { isNonPublicHost, refusesPrivateReceivers } from './address.ts';
import { webhookKey } from './key.ts';
import {
  deleteEndpoint,
  deliveriesOf,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateEndpointSecret,
  type DeliveryRow,
  type EndpointRow,
} from './queries.ts';
import { isEventType } from './schema.ts';
import { encryptSecret, newSigningSecret } from './signing.ts';

// Webhook endpoints: managed by the host app's backend with a service token (`webhooks:manage`).
// A service token belongs to no org, so an endpoint receives the events of every org, or of the
// one org it names (`org_id`). No org role manages endpoints (src/auth/permissions.ts).

/** `POST /webhooks`: the endpoint and its signing secret, which no later reply shows again. */
export async function createWebhook(
  ctx: Ctx,
  input: { url: string; events: string[]; orgId?: string | undefined },
): Promise<{ endpoint: EndpointRow; secret: string }> {
  const caller = authorizeCaller(requireCaller(ctx), 'webhooks.manage');
  const url = checkUrl(input.url, { isProduction: ctx.config.isProduction, refusePrivate: refusesPrivateReceivers(ctx.config) });
  const eventTypes = checkEventTypes(input.events);
  const key = await requireKey(ctx);
  let orgId: string | null = null;
  if (input.orgId !== undefined) {
    if (!isUuid(input.orgId) || !(await findOrg(ctx.db, input.orgId))) {
      throw new AppError('org_not_found', 'No organization with this id.');
    }
    orgId = input.orgId;
  }
  const id = randomUUID();
  const secret = newSigningSecret();
  const endpoint = await ctx.db.transaction(async (tx) => {
    const created = await insertEndpoint(tx, {
      id,
      url,
      eventTypes,
      orgId,
      secretEncrypted: encryptSecret(key, id, secret.bytes),
      createdBy: caller.via === 'service_token' ? `service:${caller.credentialId}` : caller.email,
      now: ctx.clock.now(),
    });
    await recordGlobalAudit(tx, ctx, {
      action: 'webhook.endpoint_created',
      targetType: 'webhook_endpoint',
      targetId: created.id,
      after: { url: created.url, events: created.event_types, org_id: created.org_id },
    });
    return created;
  });
  return { endpoint, secret: secret.shown };
}

/** How long the previous secret keeps signing after a rotation, by default (a day). */
export const DEFAULT_ROTATION_SECONDS = 86_400;

/**
 * `POST /webhooks/{id}/rotate-secret`: a new signing secret, shown once. Deliveries carry a
 * signature with the new secret and, for `previousSecretSeconds` (0: none), one with the secret
 * that was current, so a receiver switches over without missing one.
 */
export async function rotateWebhookSecret(
  ctx: Ctx,
  input: { id: string; previousSecretSeconds?: number | undefined },
): Promise<{ endpoint: EndpointRow; secret: string }> {
  authorizeCaller(requireCaller(ctx), 'webhooks.manage');
  const key = await requireKey(ctx);
  if (!isUuid(input.id)) throw webhookNotFound();
  const secret = newSigningSecret();
  const endpoint = await ctx.db.transaction(async (tx) => {
    const rotated = await rotateEndpointSecret(tx, {
      id: input.id,
      secretEncrypted: encryptSecret(key, input.id, secret.bytes),
      previousExpiresAt: new Date(ctx.clock.now().getTime() + (input.previousSecretSeconds ?? DEFAULT_ROTATION_SECONDS) * 1000),
    });
    if (!rotated) throw webhookNotFound();
    const expires = rotated.previous_secret_expires_at;
    await recordGlobalAudit(tx, ctx, {
      action: 'webhook.secret_rotated',
      targetType: 'webhook_endpoint',
      targetId: rotated.id,
      after: { url: rotated.url, previous_secret_expires_at: expires === null ? null : new Date(expires).toISOString() },
    });
    return rotated;
  });
  return { endpoint, secret: secret.shown };
}

export async function listWebhooks(ctx: Ctx): Promise<EndpointRow[]> {
  authorizeCaller(requireCaller(ctx), 'webhooks.manage');
  return listEndpoints(ctx.db);
}

/** `DELETE /webhooks/{id}`: deliveries not yet made are dropped with it. */
export async function deleteWebhook(ctx: Ctx, input: { id: string }): Promise<void> {
  authorizeCaller(requireCaller(ctx), 'webhooks.manage');
  if (!isUuid(input.id)) throw webhookNotFound();
  await ctx.db.transaction(async (tx) => {
    const deleted = await deleteEndpoint(tx, input.id);
    if (!deleted) throw webhookNotFound();
    await recordGlobalAudit(tx, ctx, {
      action: 'webhook.endpoint_deleted',
      targetType: 'webhook_endpoint',
      targetId: input.id,
      before: { url: deleted.url },
    });
  });
}

/** `GET /webhooks/{id}/deliveries`: newest event first; the cursor is the last row's event position. */
export async function listDeliveries(
  ctx: Ctx,
  input: { id: string; cursor: string | null; limit: number },
): Promise<{ deliveries: DeliveryRow[]; nextCursor: string | null }> {
  authorizeCaller(requireCaller(ctx), 'webhooks.manage');
  if (!isUuid(input.id) || !(await findEndpoint(ctx.db, input.id))) throw webhookNotFound();
  const beforePosition =
    input.cursor === null
      ? null
      : decodeIdCursor('deliveries', input.cursor, 'This cursor is not one a delivery list returned. Start again without it.');
  const rows = await deliveriesOf(ctx.db, { endpointId: input.id, beforePosition, limit: input.limit + 1 });
  const deliveries = rows.slice(0, input.limit);
  const last = deliveries.at(-1);
  const nextCursor = rows.length > input.limit && last ? encodeIdCursor('deliveries', String(last.event_position)) : null;
  return { deliveries, nextCursor };
}

async function requireKey(ctx: Ctx): Promise<Buffer> {
  const key = await webhookKey(ctx.config, ctx.db);
  if (!key) {
    throw new AppError(
      'webhooks_not_configured',
      'Webhooks need WEBHOOK_SECRET_KEY (32 random bytes in base64) on the server to store signing secrets.',
    );
  }
  return key;
}

const webhookNotFound = () => new AppError('webhook_not_found', 'No webhook endpoint with this id.');

/**
 * An absolute http(s) URL without credentials; in production https only (secrets and member data
 * travel in it) and, unless private networks are allowed, a host that may be public. This check
 * refuses what the URL alone shows (an address literal, `localhost`); delivery checks the address
 * a name resolves to (src/webhooks/address.ts).
 */
function checkUrl(value: string, rules: { isProduction: boolean; refusePrivate: boolean }): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError('invalid_webhook_url', 'Give an absolute URL, like https://app.example.com/roster/webhooks.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppError('invalid_webhook_url', 'A webhook URL starts with https:// (or http:// outside production).');
  }
  if (rules.isProduction && url.protocol !== 'https:') {
    throw new AppError('invalid_webhook_url', 'In production a webhook URL must use https://.');
  }
  if (url.username || url.password) {
    throw new AppError('invalid_webhook_url', 'Leave credentials out of the URL: deliveries are signed instead.');
  }
  if (rules.refusePrivate && isNonPublicHost(url)) {
    throw new AppError(
      'invalid_webhook_url',
      'In production a webhook URL must point at a public address: loopback, private, link-local and other ' +
        'non-public addresses and local names are refused. Set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true on the ' +
        'server if your receivers are on a private network.',
    );
  }
  return url.toString();
}

function checkEventTypes(events: string[]): string[] {
  const unique = [...new Set(events)];
  if (unique.includes('*')) {
    if (unique.length > 1) throw new AppError('invalid_event_types', 'Send ["*"] alone for every event type, or list types.');
    return unique;
  }
  const unknown = unique.filter((type) => !isEventType(type));
  if (unknown.length > 0) {
    throw new AppError('invalid_event_types', `Unknown event types: ${unknown.join(', ')}.`, { unknown });
  }
  return unique;
}
