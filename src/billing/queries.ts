import { and, desc, eq, ne, sql, type SQL } from 'drizzle-orm';
import { assertSqlName, queryRows, queryRowsPrepared, type Queryable } from '../db/client.ts';
import { billingCustomers, billingEvents, subscriptions, type Plan, type SubscriptionStatus } from '../db/schema.ts';
import type { BillingScope } from '../core/billing-provider.ts';

// The statements on the tables billing owns: subscriptions, billing_customers, billing_events,
// storage_reservations. A scope's "live" subscription is its one that is not canceled (active or
// past_due): it holds the seats.

export interface SubscriptionRecord {
  id: string;
  plan: Plan;
  seats: number;
  status: SubscriptionStatus;
  provider: string;
  providerRef: string | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  orgId: string | null;
  userId: string | null;
}

const recordColumns = {
  id: subscriptions.id,
  plan: subscriptions.plan,
  seats: subscriptions.seats,
  status: subscriptions.status,
  provider: subscriptions.provider,
  providerRef: subscriptions.providerRef,
  currentPeriodEnd: subscriptions.currentPeriodEnd,
  cancelAtPeriodEnd: subscriptions.cancelAtPeriodEnd,
  orgId: subscriptions.orgId,
  userId: subscriptions.userId,
};

const ownedBy = (scope: BillingScope) =>
  scope.kind === 'org' ? eq(subscriptions.orgId, scope.orgId) : eq(subscriptions.userId, scope.userId);

/**
 * Serializes the writers of one scope's subscriptions until the transaction ends. An advisory lock,
 * never `FOR UPDATE` on subscriptions: on Citus that is a reference table, where a row lock is a
 * table-wide lock, and concurrent org creations (a locking read, then a write) were cancelled as
 * distributed deadlocks (docs/citus.md, "Locks").
 */
export async function lockBillingScope(tx: Queryable, scope: BillingScope): Promise<BillingLock> {
  const key = scope.kind === 'org' ? `roster.billing.org.${scope.orgId}` : `roster.billing.user.${scope.userId}`;
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${key}))`);
  return { scope } as BillingLock;
}

declare const held: unique symbol;
/**
 * What `lockBillingScope` answers, and what every subscription writer below takes: a writer cannot
 * be called without the scope's lock taken first in the transaction (the compiler checks it).
 */
export type BillingLock = { readonly scope: BillingScope; readonly [held]: true };

/** The scope's live subscription, under the scope's lock (lockBillingScope), which it answers too. */
export async function lockActiveSubscription(
  tx: Queryable,
  scope: BillingScope,
): Promise<{ lock: BillingLock; subscription: SubscriptionRecord | undefined }> {
  const lock = await lockBillingScope(tx, scope);
  return { lock, subscription: await activeSubscriptionUnder(tx, lock) };
}

/** The live subscription of the scope whose lock the transaction holds. */
export async function activeSubscriptionUnder(tx: Queryable, lock: BillingLock): Promise<SubscriptionRecord | undefined> {
  const [subscription] = await tx
    .select(recordColumns)
    .from(subscriptions)
    .where(and(ownedBy(lock.scope), ne(subscriptions.status, 'canceled')));
  return subscription;
}

/**
 * The provider's subscription as Roster stored it (any status), read once the scope it is applied to
 * is locked (lockBillingScope): the caller writes it only if it belongs to that scope.
 */
export async function lockSubscriptionByRef(
  tx: Queryable,
  lock: BillingLock,
  providerRef: string,
): Promise<SubscriptionRecord | undefined> {
  const [subscription] = await tx
    .select(recordColumns)
    .from(subscriptions)
    .where(eq(subscriptions.providerRef, providerRef))
    .orderBy(desc(subscriptions.updatedAt))
    .limit(1);
  return subscription;
}

/** What the org's billing page shows: the live subscription, else the newest canceled one. */
export async function currentSubscription(db: Queryable, scope: BillingScope): Promise<SubscriptionRecord | undefined> {
  const [subscription] = await db
    .select(recordColumns)
    .from(subscriptions)
    .where(ownedBy(scope))
    .orderBy(sql`${subscriptions.status} = 'canceled'`, desc(subscriptions.updatedAt))
    .limit(1);
  return subscription;
}

/** The personal subscription becomes the org's: its quantity is the org's seat limit. */
export async function moveSubscriptionToOrg(
  tx: Queryable,
  _lock: BillingLock,
  input: { subscriptionId: string; orgId: string; now: Date },
): Promise<void> {
  await tx
    .update(subscriptions)
    .set({ userId: null, orgId: input.orgId, updatedAt: input.now })
    .where(eq(subscriptions.id, input.subscriptionId));
}

/**
 * The live subscription replaced by a purchase that completes at once (the local provider, the
 * operator's set-plan): active, with none of the replaced provider's state. A failed payment, a
 * billing period or a pending cancellation were the old provider's (regression: an org moved off a
 * past_due Stripe subscription stayed past_due, with Stripe's period end, and nothing cleared it).
 */
export async function updateSubscription(
  tx: Queryable,
  _lock: BillingLock,
  input: { id: string; plan: Plan; seats: number; provider: string; providerRef: string; now: Date },
): Promise<void> {
  await tx
    .update(subscriptions)
    .set({
      plan: input.plan,
      seats: input.seats,
      provider: input.provider,
      providerRef: input.providerRef,
      status: 'active',
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      updatedAt: input.now,
    })
    .where(eq(subscriptions.id, input.id));
}

export async function setSubscriptionSeats(
  tx: Queryable,
  _lock: BillingLock,
  input: { id: string; seats: number; now: Date },
): Promise<void> {
  await tx.update(subscriptions).set({ seats: input.seats, updatedAt: input.now }).where(eq(subscriptions.id, input.id));
}

/** The provider's current state of a subscription, written over Roster's copy. */
export interface ProviderState {
  seats: number;
  status: SubscriptionStatus;
  providerRef: string;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
}

export async function writeProviderState(
  tx: Queryable,
  _lock: BillingLock,
  input: ProviderState & { id: string; provider: string; now: Date },
): Promise<void> {
  await tx
    .update(subscriptions)
    .set({
      // The check constraint needs seats >= 1; a canceled subscription keeps its last quantity.
      seats: Math.max(input.seats, 1),
      status: input.status,
      provider: input.provider,
      providerRef: input.providerRef,
      currentPeriodEnd: input.currentPeriodEnd,
      cancelAtPeriodEnd: input.cancelAtPeriodEnd,
      updatedAt: input.now,
    })
    .where(eq(subscriptions.id, input.id));
}

export async function insertSubscription(
  tx: Queryable,
  lock: BillingLock,
  input: {
    plan: Plan;
    seats: number;
    provider: string;
    providerRef: string;
    now: Date;
  } & Partial<ProviderState>,
): Promise<void> {
  await tx.insert(subscriptions).values({
    userId: lock.scope.kind === 'personal' ? lock.scope.userId : null,
    orgId: lock.scope.kind === 'org' ? lock.scope.orgId : null,
    plan: input.plan,
    seats: Math.max(input.seats, 1),
    status: input.status ?? 'active',
    provider: input.provider,
    providerRef: input.providerRef,
    currentPeriodEnd: input.currentPeriodEnd ?? null,
    cancelAtPeriodEnd: input.cancelAtPeriodEnd ?? false,
    createdAt: input.now,
    updatedAt: input.now,
  });
}

/**
 * The seat limit with two counts of other owners (members, pending invitations) given as scalar
 * subqueries: the seat rule's three numbers in one round-trip. `alongside` are more values of the
 * caller's (scalar subqueries, by name), read in the same statement (same snapshot, no round trip
 * of their own), under their own prepared-statement name.
 */
export async function seatLimitWith(
  db: Queryable,
  orgId: string,
  counts: { activeMembers: SQL; pendingInvites: SQL },
  alongside?: { name: string; values: Record<string, SQL> },
): Promise<{ seatLimit: number; activeMembers: number; pendingInvites: number; alongside: Record<string, unknown> }> {
  const extra = Object.entries(alongside?.values ?? {});
  for (const [name] of extra) assertSqlName(name);
  // No values, no second shape: the plain statement.
  const statementName = alongside && extra.length > 0 ? `roster_seat_usage_${alongside.name}` : 'roster_seat_usage';
  const rows = await queryRowsPrepared<
    Record<string, unknown> & { seats: number | null; active_members: number; pending_invites: number }
  >(
    db,
    statementName,
    sql`SELECT (SELECT seats FROM subscriptions WHERE org_id = ${orgId} AND status <> 'canceled') AS seats,
               ${counts.activeMembers} AS active_members, ${counts.pendingInvites} AS pending_invites
               ${sql.join(
                 extra.map(([name, value]) => sql`, ${value} AS ${sql.raw(`alongside_${name}`)}`),
                 sql``,
               )}`,
  );
  const row = rows[0];
  return {
    seatLimit: Number(row?.seats ?? 0),
    activeMembers: Number(row?.active_members ?? 0),
    pendingInvites: Number(row?.pending_invites ?? 0),
    alongside: Object.fromEntries(extra.map(([name]) => [name, row?.[`alongside_${name}`]])),
  };
}

/**
 * For another module's read that shows an org's plan in the same statement:
 * `LEFT JOIN LATERAL ${activeSubscriptionColumns(sql`o.id`)} s ON true` gives s.plan, s.seats.
 */
export function activeSubscriptionColumns(orgId: SQL): SQL {
  return sql`(SELECT plan, seats FROM subscriptions WHERE org_id = ${orgId} AND status <> 'canceled')`;
}

// Customers at the provider.

export async function findCustomer(db: Queryable, scope: BillingScope): Promise<string | undefined> {
  const owner = scope.kind === 'org' ? eq(billingCustomers.orgId, scope.orgId) : eq(billingCustomers.userId, scope.userId);
  const [row] = await db.select({ id: billingCustomers.providerCustomerId }).from(billingCustomers).where(owner);
  return row?.id;
}

/** Stores the scope's customer unless a concurrent request stored one first; answers the stored one. */
export async function storeCustomer(
  tx: Queryable,
  input: { providerCustomerId: string; scope: BillingScope; now: Date },
): Promise<string> {
  await tx
    .insert(billingCustomers)
    .values({
      providerCustomerId: input.providerCustomerId,
      orgId: input.scope.kind === 'org' ? input.scope.orgId : null,
      userId: input.scope.kind === 'personal' ? input.scope.userId : null,
      createdAt: input.now,
    })
    .onConflictDoNothing();
  const stored = await findCustomer(tx, input.scope);
  return stored ?? input.providerCustomerId;
}

/** Whose customer this is, locked: a concurrent org creation moving it waits, or is waited for. */
export async function lockCustomer(tx: Queryable, providerCustomerId: string): Promise<BillingScope | undefined> {
  const [row] = await tx
    .select({ orgId: billingCustomers.orgId, userId: billingCustomers.userId })
    .from(billingCustomers)
    .where(eq(billingCustomers.providerCustomerId, providerCustomerId))
    .for('update');
  if (row?.orgId) return { kind: 'org', orgId: row.orgId };
  if (row?.userId) return { kind: 'personal', userId: row.userId };
  return undefined;
}

/** Locks the personal customer (if any) before its subscription: the webhook's lock order. */
export async function lockPersonalCustomer(tx: Queryable, userId: string): Promise<void> {
  await tx
    .select({ id: billingCustomers.providerCustomerId })
    .from(billingCustomers)
    .where(eq(billingCustomers.userId, userId))
    .for('update');
}

/** On org creation the creator's customer becomes the org's, with the subscription. */
export async function moveCustomerToOrg(tx: Queryable, input: { userId: string; orgId: string }): Promise<void> {
  await tx.update(billingCustomers).set({ userId: null, orgId: input.orgId }).where(eq(billingCustomers.userId, input.userId));
}

// Provider events.

/**
 * Serializes the handling of one provider subscription across processes: whoever holds it fetches
 * the subscription after the previous holder committed, so an older state never lands last.
 */
export async function lockProviderSubscription(tx: Queryable, providerRef: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`roster.billing.${providerRef}`}))`);
}

/**
 * Records the event as applied, in the transaction that applies it. False when it was applied
 * already; a concurrent delivery of the same id waits here for the first one's commit.
 */
export async function claimEvent(tx: Queryable, input: { eventId: string; type: string; now: Date }): Promise<boolean> {
  const rows = await tx
    .insert(billingEvents)
    .values({ eventId: input.eventId, type: input.type, appliedAt: input.now })
    .onConflictDoNothing()
    .returning({ eventId: billingEvents.eventId });
  return rows.length === 1;
}

// Storage reservations.

/** What recording a reservation key found: a new key, or the bytes of the reservation that used it before. */
export type StorageKeyClaim = { claimed: true } | { claimed: false; bytes: number };

/**
 * Records a reservation key. A key applied before (a retry, or a reuse) is not recorded again; its
 * reservation's bytes come back so the service can tell the two apart. A concurrent claim of the
 * same key waits on the primary key until the first commits or rolls back, so the read that
 * follows sees the winner's row.
 */
export async function claimStorageKey(
  tx: Queryable,
  input: { orgId: string; key: string; bytes: number; now: Date },
): Promise<StorageKeyClaim> {
  const rows = await queryRows<{ key: string }>(
    tx,
    sql`INSERT INTO storage_reservations (org_id, key, bytes, created_at)
        VALUES (${input.orgId}, ${input.key}, ${input.bytes}, ${input.now})
        ON CONFLICT (org_id, key) DO NOTHING RETURNING key`,
  );
  if (rows.length === 1) return { claimed: true };
  const [earlier] = await queryRows<{ bytes: number }>(
    tx,
    sql`SELECT bytes FROM storage_reservations WHERE org_id = ${input.orgId} AND key = ${input.key}`,
  );
  return { claimed: false, bytes: Number(earlier?.bytes ?? input.bytes) };
}
