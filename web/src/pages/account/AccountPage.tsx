import { useMe } from '../../api/queries';
import { LoadingBlock, PageHeader } from '../../components/Feedback';
import { ApiTokensCard } from './ApiTokensCard';
import { PasswordCard } from './PasswordCard';
import { ProfileCard } from './ProfileCard';

/**
 * The signed-in user's own account: profile, password and API tokens. It belongs to the person,
 * not to an organization, so it is open to a user who is in none yet.
 */
export function AccountPage() {
  const me = useMe();
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
      <PasswordCard />
      <ApiTokensCard />
    </div>
  );
}
