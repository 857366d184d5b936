import { can } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import type { Db, Tx } from '../db/client.ts';
import { monthlyAllocation } from '../billing/allocation.ts';
import { onCitusDb } from '../db/citus.ts';
import { periodsAt } from './periods.ts';
import { sendNotices } from './allocation.ts';
import {
  allocationInputs,
  authenticateAndLock,
  authenticateBatch,
  createMemberSlices,
  findUsageKeys,
  limitsOfMembers,
  lockMemberSlices,
  lockOrgMonths,
  readOrgsLimitsAndKeys,
  usageKeyId,
  writeBatch,
  type AllocationInputs,
  type BatchWrites,
  type CounterWrite,
  type CredentialKind,
  type KeyedRequest,
  type MemberKey,
  type MemberLimits,
  type MemberSlice,
  type StoredKey,
  type UsageActor,
} from './queries.ts';

/**
 * Group commit for usage (ARCHITECTURE principle 13). Concurrent `POST /usage` requests of this
 * process are queued while a batch is being applied (and briefly after, GATHER_MS) and then applied together in ONE transaction
 * on a few set-based statements: authenticate every request, lock the orgs' month rows (org id
 * order), lock the members' counter rows ((org, user, slice) order), read the limits, decide each
 * request in arrival order against its member's limits and its org's allocation (a refusal takes
 * nothing), write the counters, the per-activity rows and the orgs' months, commit. On PostgreSQL
 * and PGlite these steps take three prepared statements between BEGIN and COMMIT (the steps that can
 * share a snapshot share a statement, src/usage/queries.ts); on Citus one statement per step and org. Every request
 * answers only after that commit; if the transaction fails, every request of the batch fails with
 * the error and nothing of it is recorded. No overshoot also across processes: every writer takes
 * the same row locks in the same order. A request with a `key` is decided in the same batch: under
 * the member's counter-row locks, a key already recorded this month answers its stored receipt
 * (`replayed`) and records nothing; a new key is stored with its receipt when, and only when, the
 * request is recorded.
 */

export interface UsageRequest {
  kind: CredentialKind;
  hash?: Buffer | undefined;
  /** kind `user`: a valid uuid. */
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
  /** The credential does not authenticate, or the user is unknown or disabled. */
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
 * Test-only: runs inside the batch's transaction after its locks, reads and decisions, before its
 * writes (on PostgreSQL the writes carry the COMMIT, src/db/pipeline.ts).
 */
export const batchTestHooks: { beforeCommit?: ((tx: Tx, size: number) => Promise<void>) | undefined } = {};

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

/** Applies one batch in one transaction; the outcomes are in the requests' order. */
export async function applyBatch(ctx: Ctx, requests: UsageRequest[]): Promise<UsageOutcome[]> {
  const now = ctx.clock.now();
  const { day, month } = periodsAt(now);
  const perOrg = await onCitusDb(ctx.db);
  return ctx.db.transaction(async (tx) => {
    const credentials = requests.map((request, idx) => ({ idx, kind: request.kind, hash: request.hash, userId: request.userId }));
    // PostgreSQL, PGlite: the same statement locks the orgs' month rows (org id order), then the
    // actors' counter rows. Citus: per org, below.
    const { actors, slices: locked } = perOrg
      ? { actors: await authenticateBatch(tx, credentials, now), slices: undefined }
      : await authenticateAndLock(tx, credentials, { now, month });
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
    // PGlite, PostgreSQL: every org of the batch in one pass (one statement per step). Citus: one
    // pass per org, in org id order, each statement filtered by that org so that Citus routes it
    // to the org's shard (it refuses FOR UPDATE over several shards). Orgs are independent (no
    // request counts against another org), so the outcomes are the same; the lock order (org month
    // rows, then counter rows, org by org in id order) stays one total order across writers.
    const groups = perOrg ? orgIds.map((orgId) => [orgId]) : [orgIds];
    const decided: GroupWrites[] = [];
    for (const group of groups) {
      const only = perOrg ? group[0] : undefined;
      const inGroup = new Set(group);
      decided.push(
        await recordGroup(tx, ctx, {
          requests,
          actors,
          outcomes,
          members: [...members.values()].filter((member) => inGroup.has(member.orgId)),
          locked,
          orgIds: group,
          only,
          now,
          day,
          month,
        }),
      );
    }
    // The writes come last: on PostgreSQL the last of them carries the COMMIT (src/db/pipeline.ts),
    // so the allocation notices go first (they take the totals decided above, not the rows).
    for (const { notices } of decided) for (const notice of notices) await sendNotices(tx, ctx, { ...notice, month });
    await batchTestHooks.beforeCommit?.(tx, requests.length);
    for (const [index, { writes, only }] of decided.entries()) {
      await writeBatch(tx, writes, { combine: only === undefined, only, last: index === decided.length - 1 });
    }
    return outcomes as UsageOutcome[];
  });
}

/** What one group decided: its writes, and the allocation notices of its orgs with a finite allocation. */
interface GroupWrites {
  writes: BatchWrites;
  only: string | undefined;
  notices: { orgId: string; monthly: number; used: number }[];
}

/**
 * The org-scoped part of a batch for the orgs of `orgIds` (all of them, or one on Citus): locks,
 * reads and decisions; the caller writes.
 */
async function recordGroup(
  tx: Tx,
  ctx: Ctx,
  input: {
    requests: UsageRequest[];
    actors: Map<number, UsageActor>;
    outcomes: (UsageOutcome | undefined)[];
    members: MemberKey[];
    /** PostgreSQL, PGlite: the counter rows authenticateAndLock locked (of every actor with an org). */
    locked: MemberSlice[] | undefined;
    orgIds: string[];
    only: string | undefined;
    now: Date;
    day: string;
    month: string;
  },
): Promise<GroupWrites> {
  const { requests, actors, outcomes, members, orgIds, only, now, day, month } = input;
  // Citus (`only`: one org): one statement per step. PostgreSQL, PGlite: the org and counter rows
  // are locked already, and the reads that follow the locks are one statement (src/usage/queries.ts).
  const combine = only === undefined;
  const keys = members;
  const wanted = new Set(keys.map((member) => memberId(member.orgId, member.userId)));
  let orgUsed: Map<string, number> | undefined;
  let inputs: Map<string, AllocationInputs> | undefined;
  let rows: MemberSlice[];
  if (combine) {
    // Only the members whose requests are still undecided (an actor the policy refuses has rows too).
    rows = (input.locked ?? []).filter((row) => wanted.has(memberId(row.orgId, row.userId)));
  } else {
    orgUsed = await lockOrgMonths(tx, orgIds, month, only);
    // By the org id as a constant: Citus routes it to the org's shard (a join with an array reads every shard).
    inputs = new Map([[only!, await allocationInputs(tx, only!)]]);
    rows = await lockMemberSlices(tx, members, only);
  }

  const withRows = new Set(rows.map((row) => memberId(row.orgId, row.userId)));
  const missing = keys.filter((member) => !withRows.has(memberId(member.orgId, member.userId)));
  if (missing.length > 0) {
    await createMemberSlices(tx, { members: missing, day, month, slices: ctx.config.usageCounterSlices });
    rows = await lockMemberSlices(tx, keys, only);
  }
  const keyed: KeyedRequest[] = [];
  requests.forEach((request, idx) => {
    const actor = actors.get(idx);
    if (request.key !== undefined && outcomes[idx] === undefined && actor?.orgId && orgIds.includes(actor.orgId)) {
      keyed.push({ orgId: actor.orgId, userId: actor.userId, key: request.key });
    }
  });
  // Read under the org and counter-row locks that every writer of these orgs' allocations and
  // these members' limits and keys holds.
  let limits: Map<string, MemberLimits>;
  let storedKeys: Map<string, StoredKey>;
  if (combine) {
    ({
      used: orgUsed,
      inputs,
      limits,
      keys: storedKeys,
    } = await readOrgsLimitsAndKeys(tx, { orgIds, members: keys, requests: keyed, month }));
  } else {
    limits = await limitsOfMembers(tx, keys, only);
    storedKeys = keyed.length > 0 ? await findUsageKeys(tx, { requests: keyed, month, only }) : new Map<string, StoredKey>();
  }
  const orgs = new Map(
    orgIds.map((orgId) => {
      const monthly = monthlyAllocation(
        inputs?.get(orgId) ?? { plan: null, seats: 0, enterpriseMonthly: null },
        ctx.config.teamCreditsPerSeat,
      );
      return [orgId, { monthly, used: orgUsed?.get(orgId) ?? 0, accepted: 0 }];
    }),
  );
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
  return { writes, only, notices: finite.map(([orgId, org]) => ({ orgId, monthly: org.monthly!, used: org.used })) };
}

function memberId(orgId: string, userId: string): string {
  return `${orgId}/${userId}`;
}
