// Value types every layer shares. They live in core so that core names them without importing
// anything above it; src/db/schema.ts re-exports them for the tables' columns.

export type Role = 'owner' | 'admin' | 'member';

export type Plan = 'team' | 'enterprise';

/** A member's place on a project's team: `editor` changes the project and its team, `viewer` reads. */
export type ProjectAccess = 'editor' | 'viewer';
