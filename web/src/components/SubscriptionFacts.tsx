// What the Billing page (the org's subscription) and the Account page (the user's own) show of a
// subscription, said the same way on both.
import type { ReactNode } from 'react';
import type { BillingStatus, PersonalSubscription } from '../api/types';
import { formatDate } from '../lib/format';
import { Badge } from './Feedback';

const statusBadges: Record<BillingStatus, ReactNode> = {
  active: <Badge tone="green">Active</Badge>,
  past_due: <Badge tone="red">Payment failed</Badge>,
  canceled: <Badge>Canceled</Badge>,
};

export function SubscriptionStatusBadge({ status }: { status: BillingStatus }) {
  return statusBadges[status];
}

const planNames: Record<PersonalSubscription['plan'], string> = { team: 'Team', enterprise: 'Enterprise' };

export function planName(plan: PersonalSubscription['plan']): string {
  return planNames[plan];
}

/** When the subscription renews or ends; the local provider has no periods (`current_period_end` null). */
export function renewalText(subscription: { current_period_end: string | null; cancel_at_period_end: boolean }): string {
  const { current_period_end: periodEnd, cancel_at_period_end: cancelsAtPeriodEnd } = subscription;
  if (!periodEnd) return cancelsAtPeriodEnd ? 'Cancels at period end' : 'No renewal date';
  const date = formatDate(periodEnd);
  return cancelsAtPeriodEnd ? `Cancels at period end (${date})` : `Renews on ${date}`;
}

/** One labelled figure of a card's `<dl>`. */
export function Stat({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div>
      <dt className="text-zinc-500">{label}</dt>
      <dd className="mt-1 font-medium text-zinc-900">{value}</dd>
    </div>
  );
}
