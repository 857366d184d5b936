import { useMe, useMySubscription } from '../../api/queries';
import { LoadingBlock, PageHeader } from '../../components/Feedback';
import { ApiTokensCard } from './ApiTokensCard';
import { PasswordCard } from './PasswordCard';
import { ProfileCard } from './ProfileCard';
import { SubscriptionCard } from './SubscriptionCard';

/**
 * The signed-in user's own account: profile, password, API tokens and, when they bought one, their
 * own subscription. It belongs to the person, not to an organization, so it is open to a user who
 * is in none yet.
 */
export function AccountPage() {
  const me = useMe();
  // Most people have none (they joined by invitation, or it moved to their org): no card, and no
  // error in its place either, while it loads or when it fails.
  const subscription = useMySubscription();
  const user = me.data?.user;
  // RequireAuth renders this page only once /me has answered with a user.
  if (!user) return <LoadingBlock />;
  return (
    <div className="space-y-6">
      <PageHeader
        title="Account"
        description="Your profile, your password and your API tokens. They are yours, whichever organization you work in."
      />
      <ProfileCard user={user} />
      {subscription.data ? <SubscriptionCard subscription={subscription.data} isInOrg={Boolean(me.data?.org)} /> : null}
      <PasswordCard />
      <ApiTokensCard />
    </div>
  );
}
