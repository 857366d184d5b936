import { Link } from 'react-router';
import type { PersonalSubscription } from '../../api/types';
import { Alert, Card, CardHeader } from '../../components/Feedback';
import { ManageBillingButton, PortalNotices, useBillingPortal } from '../../components/BillingPortal';
import { planName, renewalText, Stat, SubscriptionStatusBadge } from '../../components/SubscriptionFacts';
import { formatNumber } from '../../lib/format';

function cardDescription(subscription: PersonalSubscription, isInOrg: boolean): string {
  if (subscription.status === 'canceled') return 'Your own subscription, bought before creating an organization.';
  if (isInOrg) return 'Your own subscription, separate from your organization’s billing.';
  return 'Your own subscription, bought before creating an organization: the organization you create takes it over.';
}

/**
 * The user's own subscription (GET /me/subscription: bought before creating an organization, any
 * status), with the payment provider's portal for it (POST /billing/portal, scope personal), which
 * stays open to them also once they are in an organization. AccountPage shows it only when there is one.
 */
export function SubscriptionCard({ subscription, isInOrg }: { subscription: PersonalSubscription; isInOrg: boolean }) {
  const portal = useBillingPortal('personal');
  return (
    <Card>
      <CardHeader
        title="Subscription"
        description={cardDescription(subscription, isInOrg)}
        action={<ManageBillingButton portal={portal} isAvailable={subscription.portal_available} />}
      />
      <div className="space-y-5 px-5 py-5 text-sm">
        <PortalNotices
          portal={portal}
          noPortalText="This server uses the local billing provider, which charges nothing and has no payment portal."
        />
        {subscription.status === 'past_due' ? (
          <Alert tone="error" title="Payment failed">
            {subscription.portal_available
              ? 'The last payment did not go through. Update your payment method in the billing portal (Manage billing).'
              : 'The last payment did not go through. Contact support to update your payment details.'}
          </Alert>
        ) : null}
        {subscription.status === 'canceled' ? (
          <Alert tone="warning" title="Subscription canceled">
            It pays for nothing any more.
            {isInOrg ? null : (
              <>
                {' '}
                To create an organization,{' '}
                <Link to="/create-org" className="font-medium underline underline-offset-2">
                  choose a plan again
                </Link>
                .
              </>
            )}
          </Alert>
        ) : null}
        <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
          <Stat label="Plan" value={planName(subscription.plan)} />
          <Stat label="Seats" value={formatNumber(subscription.seats)} />
          <Stat label="Status" value={<SubscriptionStatusBadge status={subscription.status} />} />
          {/* The local provider has no billing periods: nothing to say then. */}
          {subscription.current_period_end || subscription.cancel_at_period_end ? (
            <Stat label="Renewal" value={renewalText(subscription)} />
          ) : null}
        </dl>
      </div>
    </Card>
  );
}
