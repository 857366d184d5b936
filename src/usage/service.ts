import { authorize, authorizeCaller } from '../auth/permissions.ts';
import { findUserById } from '../auth/queries.ts';
import { authenticatorOf } from '../auth/authenticate.ts';
import { appendEvents } from '../events/queries.ts';
import type { Caller, Ctx } from '../core/context.ts';
import { requireActor, requireCaller } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { hashToken, tokenKindOf } from '../core/tokens.ts';
import { findMembershipOfUser, memberPage, type MemberRow } from '../orgs/queries.ts';
import { onCitusDb } from '../db/citus.ts';
import { decodeCursor, encodeCursor } from '../members/service.ts';
import { periodsAt, secondsUntil, type UsagePeriods } from '../core/periods.ts';
import {
  activityTotals,
  activityTotalsOfMembers,
  claimLimitNotice,
  findLimits,
  findRecordedKey,
  type CredentialKind,
  type MemberLimits,
  type StoredKey,
} from './queries.ts';
import { allocationExhausted } from './allocation.ts';
import { submitUsage } from './batch.ts';
import { isUuid } from '../core/ids.ts';
import { allocationView, type AllocationView } from '../billing/allocation.ts';

export const ACTIVITY_PATTERN = /^[a-z0-9_.-]{1,64}$/;
export const MAX_QUANTITY = 1_000_000_000;

export interface UsageReceipt {
  day: { used: number; limit: number | null };
  month: { used: number; limit: number | null };
}

export interface RecordUsageInput {
  activity: string;
  quantity: number;
  /** The route's bearer or cookie token; undefined for an in-process caller (`ctx.actor`). */
  credential?: string | null;
  /** On behalf of this user: only with a service token that has `usage:write`. */
  userId?: string | undefined;
  /** Makes a retried request count once (1 to 200 characters, per member and UTC month). */
  key?: string | undefined;
}

/** Who a request records for: a credential to authenticate, or a user id (already authenticated). */
interface Recorder {
  kind: CredentialKind;
  hash?: Buffer;
  userId?: string;
  /** A service token records on behalf of `userId`. */
  onBehalf: boolean;
  /** Kind `service`: the token, which the batch checks (a refusal finds out why with it). */
  token?: string;
}

/**
 * Records `quantity` of `activity` for the member, refusing the whole request when it would take
 * the member over the daily or monthly limit or the org over its allocation. With `credential`
 * (the route's bearer or cookie token), authentication is folded into the same statement as the
 * counter update; a service token (resolved by the request hook) records on behalf of `userId`
 * through the same statement. With `key`, the key is stored with its receipt in the batch's
 * transaction, so a retry counts once and answers the first receipt.
 */
export async function recordUsage(ctx: Ctx, input: RecordUsageInput): Promise<UsageReceipt> {
  assertUsageInput(input);
  const recorder = await recorderOf(ctx, input);
  // A malformed user id joins no batch: its refusal as for an unknown user (a service token checked first).
  if (recorder.onBehalf && !isUuid(recorder.userId ?? '')) throw await notRecordable(ctx, recorder);
  // Group commit (src/usage/batch.ts): answers after the transaction of its batch commits.
  const outcome = await submitUsage(ctx, {
    kind: recorder.kind,
    hash: recorder.hash,
    userId: recorder.userId,
    activity: input.activity,
    quantity: input.quantity,
    key: input.key,
  });
  switch (outcome.status) {
    case 'recorded':
      return receipt(outcome.dayUsed, outcome.monthUsed, outcome.limits);
    case 'replayed':
      return replay(outcome.stored, input);
    case 'unauthenticated': {
      const refusal = await notRecordable(ctx, recorder);
      // A keyed retry of a request recorded before its member was disabled answers that receipt:
      // 403 user_disabled would say the usage was not recorded, and it was.
      const stored = refusal.code === 'user_disabled' ? await recordedBeforeDisabled(ctx, recorder, input.key) : undefined;
      if (stored) return replay(stored, input);
      throw refusal;
    }
    case 'no_org':
      throw notAMember(recorder);
    case 'forbidden':
      throw new AppError('forbidden', 'Your role in this organization does not allow this. Ask an admin.');
    case 'over_limit':
      throw await limitRefusal(ctx, outcome.member, outcome, input.quantity, outcome.now);
    case 'allocation_exhausted':
      throw allocationExhausted(outcome.allocation, outcome.now, periodsAt(outcome.now));
  }
}

function replay(stored: StoredKey, input: { activity: string; quantity: number }): UsageReceipt {
  if (stored.activity !== input.activity || stored.quantity !== input.quantity) {
    throw new AppError(
      'idempotency_key_reused',
      `This key was already used this month for ${stored.quantity} of "${stored.activity}". Send a new key for a new request.`,
      { activity: stored.activity, quantity: stored.quantity },
    );
  }
  return receipt(stored.dayUsed, stored.monthUsed, { daily: stored.dayLimit, monthly: stored.monthLimit });
}

/**
 * Who records: a member's own session or API token (never with `user_id`: a member records only
 * for themselves), or a service token with `usage:write` on behalf of `user_id`.
 */
async function recorderOf(ctx: Ctx, input: RecordUsageInput): Promise<Recorder> {
  const credential = input.credential;
  const service = credential === undefined ? ctx.actor?.via === 'service_token' : tokenKindOf(credential ?? '') === 'service';
  if (service) {
    // POST /usage leaves the token to the batch (authenticatesServiceToken): it joins the batch
    // with its hash, and the batch checks the token and its scope with the rest.
    const token = credential && ctx.actor === null ? credential : undefined;
    if (token && input.userId !== undefined) {
      return { kind: 'service', hash: hashToken(token), userId: input.userId, onBehalf: true, token };
    }
    // Otherwise the caller as the request hook resolves it (none when revoked: 401), here for a
    // request without user_id; the policy checks the scope (403).
    const caller = token ? await serviceCaller(ctx, token) : requireCaller(ctx);
    authorizeCaller(caller, 'usage.record');
    if (input.userId === undefined) {
      throw new AppError('invalid_request', 'A service token records on behalf of a member: send user_id.');
    }
    return { kind: 'user', userId: input.userId, onBehalf: true };
  }
  // No token at all (a service token in the cookie is none: presentedToken): 401 before anything else.
  if (credential === null || credential === '') throw new AppError('unauthenticated', 'Sign in to continue.');
  if (input.userId !== undefined) {
    throw new AppError('invalid_request', 'Only a service token records on behalf of another user: leave out user_id.');
  }
  if (credential === undefined) return { kind: 'user', userId: requireActor(ctx).userId, onBehalf: false };
  const kind = tokenKindOf(credential);
  if (kind !== 'session' && kind !== 'api') throw new AppError('unauthenticated', 'Sign in to continue.');
  return { kind, hash: hashToken(credential), onBehalf: false };
}

/** The service token's caller as the request hook resolves it (its last use recorded), or null. */
function bearerCaller(ctx: Ctx, token: string): Promise<Caller | null> {
  return authenticatorOf(ctx.db)(token, ctx.clock.now(), 'bearer');
}

/** bearerCaller, or 401 when the token does not authenticate. */
async function serviceCaller(ctx: Ctx, token: string): Promise<Caller> {
  return requireCaller({ ...ctx, actor: await bearerCaller(ctx, token) });
}

/**
 * A malformed POST /usage with a service token (the route's body did not validate): 403 when the
 * token authenticates but may not record usage, as the scope check before the body answers on
 * every other route; otherwise nothing, and the route answers the validation error.
 */
export async function refuseServiceCallerFirst(ctx: Ctx, credential: string | null | undefined): Promise<void> {
  if (!credential || tokenKindOf(credential) !== 'service' || ctx.actor !== null) return;
  const caller = await bearerCaller(ctx, credential);
  if (caller) authorizeCaller(caller, 'usage.record');
}

/**
 * No actor row: a credential that does not authenticate (401), or an unknown or disabled user. A
 * service token the batch checked: 401 when it does not authenticate, 403 without the scope, then
 * the user.
 */
async function notRecordable(ctx: Ctx, recorder: Recorder): Promise<AppError> {
  if (recorder.token !== undefined) authorizeCaller(await serviceCaller(ctx, recorder.token), 'usage.record');
  if (!recorder.onBehalf || !recorder.userId) return new AppError('unauthenticated', 'Sign in to continue.');
  if (!isUuid(recorder.userId)) return notAMember(recorder);
  const user = await findUserById(ctx.db, recorder.userId);
  if (user?.disabledAt) return new AppError('user_disabled', 'This user is disabled: their usage is not recorded.');
  return notAMember(recorder);
}

/** The receipt of `key` for the disabled member on whose behalf the service token records, if any. */
async function recordedBeforeDisabled(ctx: Ctx, recorder: Recorder, key: string | undefined): Promise<StoredKey | undefined> {
  if (key === undefined || !recorder.userId) return undefined;
  const membership = await findMembershipOfUser(ctx.db, recorder.userId, { citus: await onCitusDb(ctx.db) });
  if (!membership) return undefined;
  const now = ctx.clock.now();
  return findRecordedKey(ctx.db, { orgId: membership.orgId, userId: recorder.userId, key, month: periodsAt(now).month, now });
}

function notAMember(recorder: Recorder): AppError {
  if (recorder.onBehalf) return new AppError('not_a_member', 'No member of an organization has this user id.');
  return new AppError('forbidden', 'You are not a member of an organization.');
}

function assertUsageInput(input: { activity: string; quantity: number; key?: string | undefined }): void {
  if (!ACTIVITY_PATTERN.test(input.activity)) {
    throw new AppError('invalid_activity', 'Name the activity with 1 to 64 characters of a-z, 0-9, "_", "." and "-".');
  }
  if (!Number.isInteger(input.quantity) || input.quantity < 1 || input.quantity > MAX_QUANTITY) {
    throw new AppError('invalid_quantity', `Send a whole quantity between 1 and ${MAX_QUANTITY}.`);
  }
  if (input.key !== undefined && (input.key.length < 1 || input.key.length > 200)) {
    throw new AppError('invalid_request', 'Send a key of 1 to 200 characters, or none.');
  }
}

/** Notes in this process which members' limit events are already written (saves a statement per refusal). */
const noticed = new Set<string>();

/**
 * The 429 for a member limit, after writing the event `usage.limit_exceeded` at most once per
 * member and exceeded period: claimed in usage_limit_notices in its own short transaction (the
 * refused request records nothing else).
 */
async function limitRefusal(
  ctx: Ctx,
  member: { orgId: string; userId: string },
  state: { over: { day: boolean; month: boolean }; limits: MemberLimits; dayUsed: number; monthUsed: number },
  quantity: number,
  now: Date,
): Promise<AppError> {
  const periods = periodsAt(now);
  const error = limitExceeded(state.over, state.limits, now, periods);
  const period = state.over.month ? 'month' : 'day';
  const start = period === 'month' ? periods.month : periods.day;
  const seen = `${member.orgId}/${member.userId}/${period}/${start}`;
  if (noticed.has(seen)) return error;
  await ctx.db.transaction(async (tx) => {
    if (!(await claimLimitNotice(tx, { ...member, period, start, now }))) return;
    await appendEvents(
      tx,
      [
        {
          orgId: member.orgId,
          type: 'usage.limit_exceeded',
          data: {
            user_id: member.userId,
            period,
            period_start: start,
            limit: (period === 'month' ? state.limits.monthly : state.limits.daily) ?? 0,
            used: period === 'month' ? state.monthUsed : state.dayUsed,
            requested: quantity,
            resets_at: (period === 'month' ? periods.monthEnd : periods.dayEnd).toISOString(),
          },
        },
      ],
      now,
    );
  });
  if (noticed.size >= 100_000) noticed.clear();
  noticed.add(seen);
  return error;
}

function limitExceeded(over: { day: boolean; month: boolean }, limits: MemberLimits, now: Date, periods: UsagePeriods): AppError {
  // Over the monthly limit, the next day does not help: wait for the month.
  const period = over.month ? 'month' : 'day';
  const limit = over.month ? limits.monthly : limits.daily;
  const resetsAt = over.month ? periods.monthEnd : periods.dayEnd;
  return new AppError(
    'usage_limit_exceeded',
    `This would take you over your ${period === 'month' ? 'monthly' : 'daily'} usage limit of ${limit}. ` +
      'Contact your organization administrator to raise it, or try again after the limit resets.',
    { period, limit, resets_at: resetsAt.toISOString(), retry_after_seconds: secondsUntil(resetsAt, now) },
  );
}

function receipt(dayUsed: number, monthUsed: number, limits: MemberLimits): UsageReceipt {
  return { day: { used: dayUsed, limit: limits.daily }, month: { used: monthUsed, limit: limits.monthly } };
}

export interface OwnUsage {
  day: { used: number; limit: number | null; byActivity: Record<string, number> };
  month: { used: number; limit: number | null; byActivity: Record<string, number> };
  /** The org's allocation this month, which every member's usage draws from. */
  allocation: AllocationView;
}

/** `GET /api/v1/usage`: the member's own totals today and this month, by activity. */
export async function readOwnUsage(ctx: Ctx): Promise<OwnUsage> {
  const actor = authorize(requireCaller(ctx), 'usage.record');
  const periods = periodsAt(ctx.clock.now());
  const orgId = actor.membership.orgId;
  const totals = await activityTotals(ctx.db, {
    orgId,
    userId: actor.userId,
    from: periods.month,
    until: periods.monthEnd.toISOString().slice(0, 10),
    day: periods.day,
  });
  // A member refused with org_allocation_exhausted sees why on their own usage page.
  const [limits, allocation] = await Promise.all([findLimits(ctx.db, orgId, actor.userId), allocationView(ctx, orgId)]);
  const day: Record<string, number> = {};
  const month: Record<string, number> = {};
  for (const total of totals) {
    if (total.day > 0) day[total.activity] = total.day;
    month[total.activity] = total.period;
  }
  return {
    day: { used: sumOf(day), limit: limits.daily, byActivity: day },
    month: { used: sumOf(month), limit: limits.monthly, byActivity: month },
    allocation,
  };
}

export interface OrgUsage {
  period: 'day' | 'month';
  start: Date;
  end: Date;
  members: { member: MemberRow; total: number; byActivity: Record<string, number> }[];
  /** Continues with `cursor=`; null when this page holds the last member. */
  nextCursor: string | null;
  /** The org's usage allocation (credits) this UTC month, whatever the period asked. */
  allocation: AllocationView;
}

/**
 * `GET /api/v1/org/usage`: one keyset page of members (the cursor of GET /org/members) with their
 * totals by activity in the current day or month. A 100,000-member org is never read whole.
 */
export async function readOrgUsage(
  ctx: Ctx,
  input: { period: 'day' | 'month'; limit: number; cursor: string | null },
): Promise<OrgUsage> {
  const actor = authorize(requireCaller(ctx), 'usage.read_org');
  const periods = periodsAt(ctx.clock.now());
  const orgId = actor.membership.orgId;
  const start = input.period === 'day' ? periods.dayStart : periods.monthStart;
  const end = input.period === 'day' ? periods.dayEnd : periods.monthEnd;
  const after = input.cursor ? decodeCursor(input.cursor) : null;
  const [allocation, rows] = await Promise.all([
    allocationView(ctx, orgId),
    memberPage(ctx.db, { orgId, limit: input.limit + 1, after, prefix: null, role: null, status: null }),
  ]);
  const members = rows.slice(0, input.limit);
  const last = members[members.length - 1];
  const totals = await activityTotalsOfMembers(ctx.db, {
    orgId,
    userIds: members.map((member) => member.userId),
    from: start.toISOString().slice(0, 10),
    until: end.toISOString().slice(0, 10),
    day: periods.day,
  });
  const byMember = new Map<string, Record<string, number>>();
  for (const total of totals) {
    const activities = byMember.get(total.userId) ?? {};
    activities[total.activity] = total.period;
    byMember.set(total.userId, activities);
  }
  return {
    period: input.period,
    start,
    end,
    allocation,
    nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null,
    members: members.map((member) => {
      const byActivity = byMember.get(member.userId) ?? {};
      return { member, total: sumOf(byActivity), byActivity };
    }),
  };
}

function sumOf(values: Record<string, number>): number {
  return Object.values(values).reduce((total, value) => total + value, 0);
}
