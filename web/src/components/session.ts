import { useOrg, useMe } from '../api/queries';
import type { OrgRole } from '../api/types';

/** The current role in the org: from the freshest of GET /org and GET /me. */
export function useCurrentRole(): OrgRole | null {
  const org = useOrg();
  const me = useMe();
  const fromOrg = org.data && 'role' in org.data ? org.data.role : undefined;
  return fromOrg ?? me.data?.org?.role ?? null;
}

export function isAdminOrBetter(role: OrgRole | null): boolean {
  return role === 'owner' || role === 'admin';
}
