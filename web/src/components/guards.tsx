import { Navigate, Outlet, useLocation } from 'react-router';
import { useMe } from '../api/queries';
import { errorMessage } from '../api/errors';
import { ErrorState, FullPageLoader } from './Feedback';

export function RequireAuth() {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <FullPageLoader />;
  if (me.isError) return <ErrorState message={errorMessage(me.error)} onRetry={() => void me.refetch()} />;
  if (!me.data) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Outlet />;
}

export function RequireOrg() {
  const me = useMe();
  if (me.data && !me.data.org) return <Navigate to="/create-org" replace />;
  return <Outlet />;
}

export function HomeRedirect() {
  const me = useMe();
  if (me.isPending) return <FullPageLoader />;
  if (me.isError) return <ErrorState message={errorMessage(me.error)} onRetry={() => void me.refetch()} />;
  if (!me.data) return <Navigate to="/login" replace />;
  if (!me.data.org) return <Navigate to="/create-org" replace />;
  return <Navigate to="/settings/members" replace />;
}
