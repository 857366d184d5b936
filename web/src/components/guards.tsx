import type { ReactElement } from 'react';
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

/**
 * For /login and /signup: a user who opens them already signed in is sent to `next` (a same-origin
 * path from safeNextPath, else the dashboard home) instead of the form; null: show the form (also
 * while /me is asked, so a signed-out visitor gets it at once). `hasSignedInHere`: the page's own
 * sign-in just succeeded and the page navigates on by itself (signup goes through onboarding
 * first), so the new session must not redirect it.
 */
export function useSignedInRedirect(next: string, hasSignedInHere: boolean): ReactElement | null {
  const me = useMe();
  return me.data && !hasSignedInHere ? <Navigate to={next} replace /> : null;
}
