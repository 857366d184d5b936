import { recordAudit } from '../audit/record.ts';
import { authorize, authorizeCaller } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireCaller } from '../core/context.ts';
import { AppError, assertThat } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import type { Queryable } from '../db/client.ts';
import { findOrg, lockOrg, reserveStorage, setStorageUsed } from '../orgs/queries.ts';
import { storageLimitBytes } from './plans.ts';
import { claimStorageKey } from './queries.ts';

export interface OrgStorage {
  usedBytes: number;
  /** Null: unlimited (Enterprise). */
  limitBytes: number | null;
}

/** `GET /org/storage`: any member. Team pools 1 GiB per seat; Enterprise is unlimited. */
export async function orgStorage(ctx: Ctx): Promise<OrgStorage> {
  const member = authorize(requireCaller(ctx), 'storage.read');
  return storageOf(ctx.db, member.membership.orgId);
}

async function storageOf(db: Queryable, orgId: string): Promise<OrgStorage> {
  const org = await findOrg(db, orgId);
  assertThat(org, 'not_found', 'The organization no longer exists.');
  // Without a live subscription (canceled) there is nothing to store into.
  return { usedBytes: org.storageUsedBytes, limitBytes: org.plan ? storageLimitBytes(org.plan, org.seatLimit) : 0 };
}

/**
 * `POST /org/storage/reserve`: adds `bytes` (negative: releases) to the org's pool. The key is
 * recorded in the same transaction, so a retried call counts once; the addition is one conditional
 * UPDATE, so concurrent reservations never take the total over the limit. Refused whole with
 * 413 storage_limit (the key is not recorded then, so a retry after freeing space can succeed); a
 * key used before for other bytes answers 409 idempotency_key_reused and changes nothing.
 */
export async function reserveOrgStorage(
  ctx: Ctx,
  input: { bytes: number; key: string; orgId?: string | undefined },
): Promise<OrgStorage> {
  const orgId = await storageOrgOf(ctx, 'storage.reserve', input.orgId);
  if (input.key.length < 1 || input.key.length > 200) {
    throw new AppError('invalid_storage_key', 'Give each reservation a key of 1 to 200 characters.');
  }
  return ctx.db.transaction(async (tx) => {
    const before = await storageOf(tx, orgId);
    const claim = await claimStorageKey(tx, { orgId, key: input.key, bytes: input.bytes, now: ctx.clock.now() });
    if (!claim.claimed) {
      // The same key for other bytes is a new request under an old key, not a retry: counting it
      // once would lose it silently (usage answers the same way).
      if (claim.bytes !== input.bytes) {
        throw new AppError(
          'idempotency_key_reused',
          `This key was already used for a reservation of ${claim.bytes} bytes. Send a new key for a new reservation.`,
          { bytes: claim.bytes },
        );
      }
      return storageOf(tx, orgId); // a retry: counted once, answered with the current totals
    }
    const usedBytes = await reserveStorage(tx, { orgId, bytes: input.bytes, limitBytes: before.limitBytes });
    if (usedBytes === undefined) {
      throw new AppError(
        'storage_limit',
        `This would take your organization past its ${before.limitBytes ?? 0} bytes of storage. Free some space or add seats.`,
        { storage_used_bytes: before.usedBytes, storage_limit_bytes: before.limitBytes },
      );
    }
    return { usedBytes, limitBytes: before.limitBytes };
  });
}

/**
 * The org a storage call acts on. A member acts on their own org (naming another org's id answers
 * 404, as if it did not exist); a service token belongs to no org, so its request names one.
 */
async function storageOrgOf(ctx: Ctx, action: 'storage.reserve' | 'storage.write', orgId: string | undefined): Promise<string> {
  const caller = authorizeCaller(requireCaller(ctx), action);
  if (caller.via !== 'service_token') {
    if (orgId !== undefined && orgId !== caller.membership.orgId) throw orgNotFound();
    return caller.membership.orgId;
  }
  if (orgId === undefined) throw new AppError('invalid_request', 'A service token names the organization: send org_id.');
  if (!isUuid(orgId) || !(await findOrg(ctx.db, orgId))) throw orgNotFound();
  return orgId;
}

const orgNotFound = () => new AppError('org_not_found', 'No organization with this id.');

/**
 * `PUT /org/storage`: a service token with `storage:write` sets the org's total after the host app
 * recounted it (a whole number of bytes, at least 0; it may exceed the limit, which then refuses
 * further reservations). No member may: members reserve and release. A change of the total is
 * audited (`storage.recounted`, actor `service:<token id>`), the org row locked first so the
 * previous total is the one replaced (reservations update the same row).
 */
export async function setOrgStorage(ctx: Ctx, input: { orgId: string; usedBytes: number }): Promise<OrgStorage> {
  const orgId = await storageOrgOf(ctx, 'storage.write', input.orgId);
  if (!Number.isSafeInteger(input.usedBytes) || input.usedBytes < 0) {
    throw new AppError('invalid_request', 'Send used_bytes as a whole number of bytes, at least 0.');
  }
  return ctx.db.transaction(async (tx) => {
    await lockOrg(tx, orgId);
    const before = await storageOf(tx, orgId);
    if (!(await setStorageUsed(tx, { orgId, usedBytes: input.usedBytes }))) throw orgNotFound();
    if (before.usedBytes !== input.usedBytes) {
      await recordAudit(tx, ctx, {
        orgId,
        action: 'storage.recounted',
        targetType: 'org',
        targetId: orgId,
        before: { used_bytes: before.usedBytes },
        after: { used_bytes: input.usedBytes },
      });
    }
    return { usedBytes: input.usedBytes, limitBytes: before.limitBytes };
  });
}
