import { and, eq, sql, type SQL } from 'drizzle-orm';
import { queryRowsPrepared, type Queryable } from '../db/client.ts';
import { subscriptions, type Plan } from '../db/schema.ts';
import type { BillingScope } from '../core/billing-provider.ts';

// The statements on the table billing owns: subscriptions.

export interface SubscriptionRecord {
  id: string;
  plan: Plan;
  seats: number;
}

/** The scope's active subscription, locked until the transaction ends. */
export async function lockActiveSubscription(tx: Queryable, scope: BillingScope): Promise<SubscriptionRecord | undefined> {
  const owner = scope.kind === 'org' ? eq(subscriptions.orgId, scope.orgId) : eq(subscriptions.userId, scope.userId);
  const [subscription] = await tx
    .select({ id: subscriptions.id, plan: subscriptions.plan, seats: subscriptions.seats })
    .from(subscriptions)
    .where(and(owner, eq(subscriptions.status, 'active')))
    .for('update');
  return subscription;
}

/** The personal subscription becomes the org's: its quantity is the org's seat limit. */
export async function moveSubscriptionToOrg(tx: Queryable, input: { subscriptionId: string; orgId: string; now: Date }): Promise<void> {
  await tx
    .update(subscriptions)
    .set({ userId: null, orgId: input.orgId, updatedAt: input.now })
    .where(eq(subscriptions.id, input.subscriptionId));
}

export async function updateSubscription(
  tx: Queryable,
  input: { id: string; plan: Plan; seats: number; provider: string; providerRef: string; now: Date },
): Promise<void> {
  await tx
    .update(subscriptions)
    .set({ plan: input.plan, seats: input.seats, provider: input.provider, providerRef: input.providerRef, updatedAt: input.now })
    .where(eq(subscriptions.id, input.id));
}

export async function insertSubscription(
  tx: Queryable,
  input: { scope: BillingScope; plan: Plan; seats: number; provider: string; providerRef: string; now: Date },
): Promise<void> {
  await tx.insert(subscriptions).values({
    userId: input.scope.kind === 'personal' ? input.scope.userId : null,
    orgId: input.scope.kind === 'org' ? input.scope.orgId : null,
    plan: input.plan,
    seats: input.seats,
    status: 'active',
    provider: input.provider,
    providerRef: input.providerRef,
    createdAt: input.now,
    updatedAt: input.now,
  });
}

/** The org's seat limit: the quantity of its active subscription, 0 without one. */
export async function seatLimitOf(db: Queryable, orgId: string): Promise<number> {
  const rows = await queryRowsPrepared<{ seats: number | null }>(
    db,
    'roster_seat_limit',
    sql`SELECT seats FROM subscriptions WHERE org_id = ${orgId} AND status = 'active'`,
  );
  return Number(rows[0]?.seats ?? 0);
}

/**
 * For another module's read that shows an org's plan in the same statement:
 * `LEFT JOIN LATERAL ${activeSubscriptionColumns(sql`o.id`)} s ON true` gives s.plan, s.seats.
 */
export function activeSubscriptionColumns(orgId: SQL): SQL {
  return sql`(SELECT plan, seats FROM subscriptions WHERE org_id = ${orgId} AND status = 'active')`;
}
