// Value types every layer shares. They live in core so that core names them without importing
// anything above it; src/db/schema.ts re-exports them for the tables' columns.

export type Role = 'owner' | 'admin' | 'member';

export type Plan = 'team' | 'enterprise';

/** A member's place on a project's team: `editor` changes the project and its team, `viewer` reads. */
export type ProjectAccess = 'editor' | 'viewer';

/**
 * What a service token (`rs_svc_…`, the host app's backend) may do. A token acts only on the
 * routes whose action one of its scopes names (src/auth/permissions.ts maps actions to scopes).
 */
export const SERVICE_SCOPES = ['usage:write', 'authz:read', 'storage:write', 'webhooks:manage'] as const;
export type ServiceScope = (typeof SERVICE_SCOPES)[number];
