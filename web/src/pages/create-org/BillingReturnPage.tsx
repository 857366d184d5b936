import { Navigate } from 'react-router';
import { useMe } from '../../api/queries';
import { FullPageLoader } from '../../components/Feedback';

/** Where the billing provider sends people back after checkout. */
export function BillingReturnPage({ canceled = false }: { canceled?: boolean }) {
  const me = useMe();
  if (me.isPending) return <FullPageLoader />;
  if (me.data?.org) return <Navigate to="/settings/organization" replace />;
  return <Navigate to={canceled ? '/create-org' : '/create-org?step=details'} replace />;
}
