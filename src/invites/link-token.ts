import { createHmac, randomBytes } from 'node:crypto';
import type { Ctx } from '../core/context.ts';
import { hashToken } from '../core/tokens.ts';
import { loadOrCreateLinkKey } from './queries.ts';

/**
 * Invitation tokens are `rs_inv_` + the org id (16 bytes, 22 base64url characters) +
 * HMAC-SHA256(key, org id + nonce) (43 characters). The org id lets a lookup carry it, so on Citus
 * the token's lookup reaches the org's one shard (ARCHITECTURE principle 12); the HMAC binds it,
 * so an edited org part names no invitation. Tokens issued before 2026-12-01 are `rs_inv_` +
 * HMAC-SHA256(key, nonce) alone (43 characters) and are still looked up by their hash.
 *
 * The database keeps the nonce and the token's SHA-256 only, so the list can show an admin the live
 * link again (the contract's `link`) without a token ever being stored. The key comes from
 * LINK_SECRET; without it, one is generated once and kept in `server_keys` (shared by every process
 * on the database) — set LINK_SECRET in production so that a copy of the database alone cannot
 * rebuild links.
 */
export interface IssuedInviteToken {
  token: string;
  hash: Buffer;
  nonce: Buffer;
}

const ORG_PART = 22;
const MAC_PART = 43;

export function issueInviteToken(key: Buffer, orgId: string): IssuedInviteToken {
  return issueInviteTokens(key, orgId, 1)[0]!;
}

/**
 * `count` tokens from one read of the random source (a bulk invitation issues 1,000 at once). The
 * org's part of the token and of the HMAC's message is built once for the batch: per token there
 * is only its HMAC and its SHA-256 left.
 */
export function issueInviteTokens(key: Buffer, orgId: string, count: number): IssuedInviteToken[] {
  const random = randomBytes(16 * count);
  const org = uuidBytes(orgId);
  const head = Buffer.concat([Buffer.from(TOKEN_CONTEXT), org]);
  const prefix = `rs_inv_${org.toString('base64url')}`;
  const tokens: IssuedInviteToken[] = [];
  for (let index = 0; index < count; index += 1) {
    const nonce = random.subarray(index * 16, index * 16 + 16);
    const token = prefix + createHmac('sha256', key).update(head).update(nonce).digest('base64url');
    tokens.push({ token, hash: hashToken(token), nonce });
  }
  return tokens;
}

/** What the HMAC of a token of the current format covers before the org id and the nonce. */
const TOKEN_CONTEXT = 'roster-invite-link:v2:';

export function inviteTokenFor(key: Buffer, orgId: string, nonce: Buffer): string {
  const org = uuidBytes(orgId);
  const mac = createHmac('sha256', key).update(TOKEN_CONTEXT).update(org).update(nonce).digest('base64url');
  return `rs_inv_${org.toString('base64url')}${mac}`;
}

/** The token format issued before 2026-12-01 (no org id); only rebuilt for the list's links. */
export function legacyInviteTokenFor(key: Buffer, nonce: Buffer): string {
  return `rs_inv_${createHmac('sha256', key).update('roster-invite-link:').update(nonce).digest('base64url')}`;
}

/** The org id a token names, or undefined for a token of the earlier format (or not a token). */
export function orgOfInviteToken(token: string): string | undefined {
  const body = token.startsWith('rs_inv_') ? token.slice('rs_inv_'.length) : '';
  if (body.length !== ORG_PART + MAC_PART || !/^[A-Za-z0-9_-]+$/.test(body)) return undefined;
  const hex = Buffer.from(body.slice(0, ORG_PART), 'base64url').toString('hex');
  if (hex.length !== 32) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The live link's token of a stored invitation: the format whose hash is the stored one (the
 * current format, or the earlier one for an invitation issued before it); null when neither
 * matches (the key changed since).
 */
export function storedInviteToken(key: Buffer, row: { orgId: string; tokenNonce: Buffer; tokenHash: Buffer }): string | null {
  for (const token of [inviteTokenFor(key, row.orgId, row.tokenNonce), legacyInviteTokenFor(key, row.tokenNonce)]) {
    if (hashToken(token).equals(row.tokenHash)) return token;
  }
  return null;
}

function uuidBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

export function inviteLinkKey(ctx: Ctx): Promise<Buffer> {
  if (ctx.config.linkSecret) return Promise.resolve(Buffer.from(ctx.config.linkSecret, 'utf8'));
  return loadOrCreateLinkKey(ctx.db);
}
