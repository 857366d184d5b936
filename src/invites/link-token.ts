import { createHmac, randomBytes } from 'node:crypto';
import type { Ctx, CtxDb } from '../core/context.ts';
import { hashToken } from '../core/tokens.ts';
import { loadOrCreateLinkKey } from './queries.ts';

/**
 * Invitation tokens are `rs_inv_` + HMAC-SHA256(key, nonce). The database keeps the nonce and the
 * token's SHA-256 only, so the list can show an admin the live link again (the contract's
 * `link`) without a token ever being stored. The key comes from LINK_SECRET; without it, one is
 * generated once and kept in `server_keys` (shared by every process on the database) — set
 * LINK_SECRET in production so that a copy of the database alone cannot rebuild links.
 */
export interface IssuedInviteToken {
  token: string;
  hash: Buffer;
  nonce: Buffer;
}

export function issueInviteToken(key: Buffer): IssuedInviteToken {
  const nonce = randomBytes(16);
  const token = inviteTokenFor(key, nonce);
  return { token, hash: hashToken(token), nonce };
}

/** `count` tokens from one read of the random source (a bulk invitation issues 1,000 at once). */
export function issueInviteTokens(key: Buffer, count: number): IssuedInviteToken[] {
  const random = randomBytes(16 * count);
  return Array.from({ length: count }, (_, index) => {
    const nonce = Buffer.from(random.subarray(index * 16, index * 16 + 16));
    const token = inviteTokenFor(key, nonce);
    return { token, hash: hashToken(token), nonce };
  });
}

export function inviteTokenFor(key: Buffer, nonce: Buffer): string {
  return `rs_inv_${createHmac('sha256', key).update('roster-invite-link:').update(nonce).digest('base64url')}`;
}

const keys = new WeakMap<CtxDb, Promise<Buffer>>();

export function inviteLinkKey(ctx: Ctx): Promise<Buffer> {
  if (ctx.config.linkSecret) return Promise.resolve(Buffer.from(ctx.config.linkSecret, 'utf8'));
  let key = keys.get(ctx.db);
  if (!key) {
    key = loadOrCreateLinkKey(ctx.db);
    key.catch(() => keys.delete(ctx.db));
    keys.set(ctx.db, key);
  }
  return key;
}
