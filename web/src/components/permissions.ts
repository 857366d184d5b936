import { useMe, useOrg } from '../api/queries';
import type { OrgAction, OrgRole } from '../api/types';

/**
 * What the signed-in user may do in their org now, from the server's `permissions` list: the
 * freshest of GET /org (refetched after every change) and GET /me. Nothing while neither has loaded.
 */
export function useOrgPermissions(): (action: OrgAction) => boolean {
  const org = useOrg();
  const me = useMe();
  const fromOrg = org.data && 'permissions' in org.data ? org.data.permissions : undefined;
  const permissions: readonly OrgAction[] = fromOrg ?? me.data?.org?.permissions ?? [];
  return (action) => permissions.includes(action);
}

/** The caller's role, for display only (the sidebar's "Owner" / "Admin" / "Member"). */
export function useCurrentRoleLabel(): OrgRole | null {
  const org = useOrg();
  const me = useMe();
  const fromOrg = org.data && 'role' in org.data ? org.data.role : undefined;
  return fromOrg ?? me.data?.org?.role ?? null;
}
