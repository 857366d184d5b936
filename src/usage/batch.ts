import { can, rolesThatCan, scopesThatCan } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import type { Db, Tx } from '../db/client.ts';
import { LOW_BALANCE_SHARE, monthlyAllocation } from '../billing/allocation.ts';
import { sqlDetail, sqlState } from '../core/errors.ts';
import { onCitusDb } from '../db/citus.ts';
import { periodsAt } from '../core/periods.ts';
import { sendNotices } from '../billing/allocation.ts';
import {
  allocationInputs,
  authenticateBatch,
  callUsageBatch,
  callUsageBatchAlone,
  NOTICE_DUE,
  createMemberSlices,
  findUsageKeys,
  limitsOfMembers,
  lockMemberSlices,
  lockOrgMonths,
  shareOrgAllocationLock,
  usageKeyId,
  writeBatch,
  type BatchCallRow,
  type BatchWrites,
  type CounterWrite,
  type CredentialKind,
  type KeyedRequest,
  type MemberKey,
  type MemberLimits,
  type StoredKey,
  type UsageActor,
} from './queries.ts';

/**
 * Group commit for usage (ARCHITECTURE principle 13). Concurrent `POST /usage` requests of this
 * process are queued while a batch is being applied (and briefly after, GATHER_MS) and then
 * applied together in ONE transaction on a few set-based statements: authenticate every request;
 * take each org's allocation lock shared and read its allocation (org id order); lock the month
 * rows of the orgs whose allocation is finite (org id order: an unlimited org's batches lock no
 * row of the org, so those of several processes run side by side); lock the members' counter rows
 * ((org, user, slice) order); read the limits; decide each request in arrival order against its
 * member's limits and its org's allocation (a refusal takes nothing); write the counters, the
 * per-activity rows and the finite orgs' months; commit. On PostgreSQL and PGlite these steps are
 * one call of the database function roster_usage_batch (migrations 0029-0035): on PostgreSQL a
 * transaction of its own (the statement alone, no BEGIN and no COMMIT), on PGlite in a transaction;
 * on Citus one statement per step and org, from here (applyPerOrg).
 * Every request answers only after that commit; if the transaction fails, every request of the
 * batch fails with the error and nothing of it is recorded. No overshoot also across processes:
 * every writer takes the same locks in the same order, and a change of an org's allocation takes
 * its allocation lock exclusively (lockOrgUsage). A request with a `key` is decided in the same
 * batch: under the member's counter-row locks, a key already recorded this month answers its
 * stored receipt (`replayed`) and records nothing; a new key is stored with its receipt when, and
 * only when, the request is recorded.
 */

export interface UsageRequest {
  kind: CredentialKind;
  /** Kinds `session`, `api` and `service`: the token's SHA-256. */
  hash?: Buffer | undefined;
  /** Kinds `user` and `service`: a valid uuid. */
  userId?: string | undefined;
  activity: string;
  quantity: number;
  /** Makes a retry count once (per member and UTC month). */
  key?: string | undefined;
}

export type UsageOutcome =
  | { status: 'recorded'; dayUsed: number; monthUsed: number; limits: MemberLimits }
  /** The key was recorded before (this batch or earlier): nothing recorded now; its first request's receipt. */
  | { status: 'replayed'; stored: StoredKey }
  /** The credential does not authenticate (a service token: or lacks the scope), or the user is unknown or disabled. */
  | { status: 'unauthenticated' }
  | { status: 'no_org'; userId: string }
  | { status: 'forbidden' }
  | {
      status: 'over_limit';
      member: MemberKey;
      over: { day: boolean; month: boolean };
      limits: MemberLimits;
      dayUsed: number;
      monthUsed: number;
      now: Date;
    }
  | { status: 'allocation_exhausted'; allocation: { monthly: number | null; used: number }; now: Date };

/**
 * Test-only: `beforeCommit` runs inside the batch's transaction after its statements, before its
 * COMMIT (on PostgreSQL and PGlite after the call that also wrote; while it is set, the call runs in
 * a transaction on PostgreSQL too, not as a statement of its own). Citus: after the locks, reads
 * and decisions, before the writes.
 */
export const batchTestHooks: {
  beforeCommit?: ((tx: Tx, size: number) => Promise<void>) | undefined;
  /** Test-only: told each batch's size as it starts; changes nothing of how it runs. */
  onBatch?: ((size: number) => void) | undefined;
} = {};

/** The most requests one batch takes; the rest wait for the next. */
const MAX_BATCH = 512;

/**
 * How long a batch may wait to gather the requests it expects (ARCHITECTURE principle 13). Under
 * load, the clients a batch answered send their next request within a few milliseconds. Without
 * the wait, the next batch starts with the few requests that arrived during the last one, and the
 * answered clients' requests wait for the batch after it: two half-size batches alternate, each
 * paying the whole fixed cost of a transaction. Measured (bench/README.md): 2 ms gathered 20-25%
 * more requests per second than none, 4 ms a little more again. The wait ends as soon as the
 * expected requests are queued, and a lone client's request never waits (one answered, one
 * expected).
 */
export const GATHER_MS = 4;

interface Pending {
  request: UsageRequest;
  resolve: (outcome: UsageOutcome) => void;
  reject: (error: unknown) => void;
}

class Batcher {
  private queue: Pending[] = [];
  private busy = false;
  private scheduled = false;
  private gathering: NodeJS.Timeout | undefined;
  /**
   * Requests the next batch waits for (at most GATHER_MS): the last batch's size plus those that
   * queued behind it. A lone client's request never waits: one answered, one expected.
   */
  private expected = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly ctx: Ctx) {}

  submit(request: UsageRequest): Promise<UsageOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once every queued request has been applied and answered. */
  drained(): Promise<void> {
    this.expected = 0; // closing: apply what is queued now, without waiting for more
    this.kick();
    if (!this.busy && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Idle: flush once the expected requests are queued (then after the requests of this turn of the
   * event loop), or when GATHER_MS has passed. Busy: wait.
   */
  private kick(): void {
    if (this.busy || this.scheduled || this.queue.length === 0) return;
    if (this.queue.length < this.expected) {
      this.gathering ??= setTimeout(() => {
        this.gathering = undefined;
        this.expected = 0;
        this.kick();
      }, GATHER_MS);
      return;
    }
    clearTimeout(this.gathering);
    this.gathering = undefined;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const batch = this.queue.splice(0, MAX_BATCH);
    try {
      const outcomes = await applyBatch(
        this.ctx,
        batch.map((pending) => pending.request),
      );
      batch.forEach((pending, index) => pending.resolve(outcomes[index]!));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.busy = false;
      this.expected = Math.min(batch.length + this.queue.length, MAX_BATCH);
      this.kick();
      if (!this.scheduled && this.queue.length === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }
}

const batchers = new WeakMap<Db, Batcher>();

/**
 * Resolves when this database handle's queued usage requests are applied (the app's close waits
 * for it before the database closes: a request queued while the server stops still gets its
 * commit, not "pool ended").
 */
export function drainUsage(db: Db): Promise<void> {
  return batchers.get(db)?.drained() ?? Promise.resolve();
}

/** Queues the request for the next batch of this database handle; resolves after its commit. */
export function submitUsage(ctx: Ctx, request: UsageRequest): Promise<UsageOutcome> {
  let batcher = batchers.get(ctx.db);
  if (!batcher) {
    batcher = new Batcher({ ...ctx, actor: null, requestId: 'usage-batch' });
    batchers.set(ctx.db, batcher);
  }
  return batcher.submit(request);
}

interface MemberState {
  key: MemberKey;
  /** The member's counter rows, in slice order, with values of stale periods counted as 0. */
  slices: { slice: number; dayUsed: number; monthUsed: number }[];
  dayUsed: number;
  monthUsed: number;
  limits: MemberLimits;
  accepted: number;
  activities: Map<string, number>;
}

/**
 * Applies one batch in one transaction; the outcomes are in the requests' order. The batch's day
 * and month come from this process's clock; when another process (a clock a little ahead, or a
 * batch that waited less) has already moved a member's counters to a later day, the batch runs
 * again at the start of that day, so it counts there: counters never go back to an earlier period
 * (which would restart the later day's count and let members past their limits).
 */
export async function applyBatch(ctx: Ctx, requests: UsageRequest[]): Promise<UsageOutcome[]> {
  batchTestHooks.onBatch?.(requests.length);
  const citus = await onCitusDb(ctx.db);
  let now = ctx.clock.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await (citus ? applyPerOrg(ctx, requests, now) : applyInDatabase(ctx, requests, now));
    } catch (error) {
      const later = laterPeriodOf(error);
      // A period only moves forward, so a second move is a clock days apart: fail as any error.
      if (later === undefined || later <= now || attempt === 3) throw error;
      now = later;
    }
  }
}

/** SQLSTATE of roster_usage_batch when a counter row is on a later day than the batch (migration 0037). */
const PERIOD_AHEAD = 'RU002';

/** Thrown by recordOrg (Citus) where roster_usage_batch raises PERIOD_AHEAD: `day` is the latest. */
class PeriodAheadError extends Error {
  constructor(readonly day: string) {
    super(`a usage counter row is on ${day}, later than the batch's day`);
  }
}

/** The start of the later day a batch must run at, or undefined for any other failure. */
function laterPeriodOf(error: unknown): Date | undefined {
  const day = error instanceof PeriodAheadError ? error.day : sqlState(error) === PERIOD_AHEAD ? sqlDetail(error) : undefined;
  return day && /^\d{4}-\d{2}-\d{2}$/.test(day) ? new Date(`${day}T00:00:00.000Z`) : undefined;
}

/**
 * Citus: the batch's steps run here, one statement per step and org, each filtered by that org so
 * that Citus routes it to the org's shard (it refuses FOR UPDATE over several shards): the rule
 * of roster_usage_batch (src/db/migrations/0029_usage_batch_function.sql), which PostgreSQL and
 * PGlite run in the database. Orgs are independent (no request counts against another org); the
 * lock order (org month row, then counter rows, org by org in id order) stays one total order
 * across writers.
 */
async function applyPerOrg(ctx: Ctx, requests: UsageRequest[], now: Date): Promise<UsageOutcome[]> {
  const { day, month } = periodsAt(now);
  return ctx.db.transaction(async (tx) => {
    const credentials = requests.map((request, idx) => ({ idx, kind: request.kind, hash: request.hash, userId: request.userId }));
    const actors = await authenticateBatch(tx, credentials, { now, scopes: scopesThatCan('usage.record') });
    const outcomes: (UsageOutcome | undefined)[] = requests.map((_, idx) => {
      const actor = actors.get(idx);
      if (!actor) return { status: 'unauthenticated' };
      if (!actor.orgId) return { status: 'no_org', userId: actor.userId };
      if (!can(actor.role, 'usage.record')) return { status: 'forbidden' };
      return undefined;
    });
    const members = new Map<string, MemberKey>();
    for (const [idx, actor] of actors) {
      if (outcomes[idx] === undefined && actor.orgId) {
        members.set(memberId(actor.orgId, actor.userId), { orgId: actor.orgId, userId: actor.userId });
      }
    }
    if (members.size === 0) return outcomes as UsageOutcome[];

    const orgIds = [...new Set([...members.values()].map((member) => member.orgId))].sort();
    const decided: GroupWrites[] = [];
    for (const orgId of orgIds) {
      decided.push(
        await recordOrg(tx, ctx, {
          requests,
          actors,
          outcomes,
          members: [...members.values()].filter((member) => member.orgId === orgId),
          orgId,
          now,
          day,
          month,
        }),
      );
    }
    for (const { notices } of decided) for (const notice of notices) await sendNotices(tx, ctx, { ...notice, month });
    await batchTestHooks.beforeCommit?.(tx, requests.length);
    for (const { writes, orgId } of decided) await writeBatch(tx, writes, orgId);
    return outcomes as UsageOutcome[];
  });
}

/**
 * PostgreSQL, PGlite: the batch as one call of roster_usage_batch, which authenticates, locks,
 * reads, decides and writes in the database (src/db/migrations/0029_usage_batch_function.sql), the
 * same rule as applyPerOrg and recordOrg below. On PostgreSQL the call is a transaction of its own
 * (callUsageBatchAlone: one statement, one round trip, no BEGIN or COMMIT to send or run); on
 * PGlite it runs in a transaction. A batch that makes an allocation notice due (once per org, month
 * and level) fails whole and runs again in a transaction with the notices: the call, then the
 * notices (mail and audit), then COMMIT.
 */
async function applyInDatabase(ctx: Ctx, requests: UsageRequest[], now: Date): Promise<UsageOutcome[]> {
  const { day, month } = periodsAt(now);
  const input = {
    requests: requests.map((request, idx) => ({ idx, ...request })),
    now,
    day,
    month,
    roles: rolesThatCan('usage.record'),
    scopes: scopesThatCan('usage.record'),
    slices: ctx.config.usageCounterSlices,
    creditsPerSeat: ctx.config.teamCreditsPerSeat,
    lowShare: LOW_BALANCE_SHARE,
  };
  const outcomesOf = (rows: BatchCallRow[]) => {
    const outcomes: UsageOutcome[] = Array.from({ length: requests.length });
    for (const row of rows) if (row.r_idx >= 1) outcomes[row.r_idx - 1] = toOutcome(row, now);
    return outcomes;
  };
  const run = (notices: boolean) =>
    ctx.db.transaction(async (tx) => {
      const rows = await callUsageBatch(tx, { ...input, notices });
      for (const row of rows) {
        if (row.r_status !== 'org') continue;
        await sendNotices(tx, ctx, { orgId: row.r_org!, month, monthly: Number(row.a_monthly), used: Number(row.a_used) });
      }
      await batchTestHooks.beforeCommit?.(tx, requests.length);
      return outcomesOf(rows);
    });
  try {
    // PostgreSQL: the call is the whole transaction (callUsageBatchAlone), unless a test holds the
    // transaction open before its COMMIT.
    const alone = batchTestHooks.beforeCommit ? undefined : callUsageBatchAlone(ctx.db, input);
    return alone ? outcomesOf(await alone) : await run(false);
  } catch (error) {
    if (sqlState(error) === NOTICE_DUE) return run(true);
    throw error;
  }
}

/** The outcome of one request from its row of roster_usage_batch. */
function toOutcome(row: BatchCallRow, now: Date): UsageOutcome {
  const number = (value: string | number | null) => (value === null ? null : Number(value));
  const limits: MemberLimits = { daily: number(row.r_daily), monthly: number(row.r_monthly) };
  switch (row.r_status) {
    case 'recorded':
      return { status: 'recorded', dayUsed: Number(row.r_day_used), monthUsed: Number(row.r_month_used), limits };
    case 'replayed':
      return {
        status: 'replayed',
        stored: {
          activity: row.k_activity!,
          quantity: Number(row.k_quantity),
          dayUsed: Number(row.k_day_used ?? 0),
          dayLimit: number(row.k_day_limit),
          monthUsed: Number(row.k_month_used ?? 0),
          monthLimit: number(row.k_month_limit),
        },
      };
    case 'over_limit':
      return {
        status: 'over_limit',
        member: { orgId: row.r_org!, userId: row.r_user! },
        over: { day: row.r_over_day === true, month: row.r_over_month === true },
        limits,
        dayUsed: Number(row.r_day_used),
        monthUsed: Number(row.r_month_used),
        now,
      };
    case 'allocation_exhausted':
      return { status: 'allocation_exhausted', allocation: { monthly: number(row.a_monthly), used: Number(row.a_used) }, now };
    case 'no_org':
      return { status: 'no_org', userId: row.r_user! };
    case 'forbidden':
      return { status: 'forbidden' };
    case 'unauthenticated':
      return { status: 'unauthenticated' };
    default:
      throw new Error(`roster_usage_batch answered an unknown status: ${row.r_status}`);
  }
}

/** What the batch decided for one org: its writes, and its allocation notice when the allocation is finite. */
interface GroupWrites {
  writes: BatchWrites;
  orgId: string;
  notices: { orgId: string; monthly: number; used: number }[];
}

/** Citus: the part of a batch of one org, `orgId`: locks, reads and decisions; the caller writes. */
async function recordOrg(
  tx: Tx,
  ctx: Ctx,
  input: {
    requests: UsageRequest[];
    actors: Map<number, UsageActor>;
    outcomes: (UsageOutcome | undefined)[];
    members: MemberKey[];
    orgId: string;
    now: Date;
    day: string;
    month: string;
  },
): Promise<GroupWrites> {
  const { requests, actors, outcomes, members, orgId, now, day, month } = input;
  const keys = members;
  // The org's allocation lock, shared (a change of the allocation takes it exclusively), then the
  // allocation: finite, the org's month row, locked (one batch of the org at a time decides against
  // its remainder); unlimited, no row of the org (its batches run side by side).
  await shareOrgAllocationLock(tx, orgId);
  // By the org id as a constant: Citus routes it to the org's shard (a join with an array reads every shard).
  const inputs = await allocationInputs(tx, orgId);
  const monthly = monthlyAllocation(inputs, ctx.config.teamCreditsPerSeat);
  const orgUsed = monthly === null ? new Map<string, number>() : await lockOrgMonths(tx, [orgId], month, orgId);
  let rows = await lockMemberSlices(tx, members, orgId);
  const withRows = new Set(rows.map((row) => memberId(row.orgId, row.userId)));
  const missing = keys.filter((member) => !withRows.has(memberId(member.orgId, member.userId)));
  if (missing.length > 0) {
    await createMemberSlices(tx, { members: missing, day, month, slices: ctx.config.usageCounterSlices });
    rows = await lockMemberSlices(tx, keys, orgId);
  }
  // A row on a later period than the batch's: deciding here would write the earlier day over it.
  let latest = day;
  for (const row of rows) for (const period of [row.day, row.month]) if (period > latest) latest = period;
  if (latest > day) throw new PeriodAheadError(latest);
  const keyed: KeyedRequest[] = [];
  requests.forEach((request, idx) => {
    const actor = actors.get(idx);
    if (request.key !== undefined && outcomes[idx] === undefined && actor?.orgId === orgId) {
      keyed.push({ orgId, userId: actor.userId, key: request.key });
    }
  });
  // Read under the org and counter-row locks that every writer of this org's allocation and these
  // members' limits and keys holds.
  const limits = await limitsOfMembers(tx, keys, orgId);
  const storedKeys =
    keyed.length > 0 ? await findUsageKeys(tx, { requests: keyed, month, now, only: orgId }) : new Map<string, StoredKey>();
  const orgs = new Map([[orgId, { monthly, used: orgUsed.get(orgId) ?? 0, accepted: 0 }]]);
  const newKeys: (KeyedRequest & StoredKey)[] = [];
  const states = new Map<string, MemberState>();
  for (const member of keys) {
    const id = memberId(member.orgId, member.userId);
    states.set(id, {
      key: member,
      slices: [],
      dayUsed: 0,
      monthUsed: 0,
      limits: limits.get(id) ?? { daily: null, monthly: null },
      accepted: 0,
      activities: new Map(),
    });
  }
  for (const row of rows) {
    const state = states.get(memberId(row.orgId, row.userId))!;
    const dayUsed = row.day === day ? row.dayUsed : 0;
    const monthUsed = row.month === month ? row.monthUsed : 0;
    state.slices.push({ slice: row.slice, dayUsed, monthUsed });
    state.dayUsed += dayUsed;
    state.monthUsed += monthUsed;
  }

  // Each request in arrival order, against what the requests before it took.
  requests.forEach((request, idx) => {
    if (outcomes[idx] !== undefined) return;
    const actor = actors.get(idx)!;
    if (!orgs.has(actor.orgId!)) return; // another group's request
    const state = states.get(memberId(actor.orgId!, actor.userId))!;
    const org = orgs.get(actor.orgId!)!;
    const keyId = request.key === undefined ? undefined : usageKeyId(actor.orgId!, actor.userId, request.key);
    const stored = keyId === undefined ? undefined : storedKeys.get(keyId);
    if (stored) {
      outcomes[idx] = { status: 'replayed', stored };
      return;
    }
    const over = {
      day: state.limits.daily !== null && state.dayUsed + request.quantity > state.limits.daily,
      month: state.limits.monthly !== null && state.monthUsed + request.quantity > state.limits.monthly,
    };
    if (over.day || over.month) {
      outcomes[idx] = {
        status: 'over_limit',
        member: state.key,
        over,
        limits: state.limits,
        dayUsed: state.dayUsed,
        monthUsed: state.monthUsed,
        now,
      };
      return;
    }
    if (org.monthly !== null && org.used + request.quantity > org.monthly) {
      outcomes[idx] = { status: 'allocation_exhausted', allocation: { monthly: org.monthly, used: org.used }, now };
      return;
    }
    state.dayUsed += request.quantity;
    state.monthUsed += request.quantity;
    state.accepted += request.quantity;
    state.activities.set(request.activity, (state.activities.get(request.activity) ?? 0) + request.quantity);
    org.used += request.quantity;
    org.accepted += request.quantity;
    outcomes[idx] = { status: 'recorded', dayUsed: state.dayUsed, monthUsed: state.monthUsed, limits: state.limits };
    if (keyId !== undefined) {
      const receipt: StoredKey = {
        activity: request.activity,
        quantity: request.quantity,
        dayUsed: state.dayUsed,
        dayLimit: state.limits.daily,
        monthUsed: state.monthUsed,
        monthLimit: state.limits.monthly,
      };
      // A later request of this batch with the same key replays it.
      storedKeys.set(keyId, receipt);
      newKeys.push({ ...state.key, key: request.key!, ...receipt });
    }
  });

  const counters: CounterWrite[] = [];
  const activities: BatchWrites['activities'] = [];
  for (const state of states.values()) {
    if (state.accepted === 0) continue;
    // The batch's quantity goes to the member's first counter row; stale rows restart at 0.
    state.slices.forEach((slice, index) => {
      counters.push({
        ...state.key,
        slice: slice.slice,
        dayUsed: slice.dayUsed + (index === 0 ? state.accepted : 0),
        monthUsed: slice.monthUsed + (index === 0 ? state.accepted : 0),
      });
    });
    const target = state.slices[0]?.slice ?? 0;
    for (const [activity, quantity] of state.activities) activities.push({ ...state.key, activity, slice: target, quantity });
  }
  const finite = [...orgs].filter(([, org]) => org.monthly !== null && org.accepted > 0);
  const writes: BatchWrites = {
    day,
    month,
    now,
    counters,
    activities,
    keys: newKeys,
    orgMonths: finite.map(([orgId, org]) => ({ orgId, used: org.used })),
  };
  return { writes, orgId, notices: finite.map(([id, org]) => ({ orgId: id, monthly: org.monthly!, used: org.used })) };
}

function memberId(orgId: string, userId: string): string {
  return `${orgId}/${userId}`;
}
