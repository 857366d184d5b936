import { z } from 'zod';
import { CHECK_REASONS, CHECKABLE_PERMISSION_NAMES } from '../auth/permissions.ts';

const role = z.enum(['owner', 'admin', 'member']);

export const checkQuery = z.strictObject({
  user_id: z.uuid().describe('The user asked about'),
  // Validated by the service, so an unknown name answers 400 `invalid_action` (not the generic
  // `invalid_request`); the names are listed here for the OpenAPI and the typed client.
  action: z
    .string()
    .max(100)
    .meta({ enum: CHECKABLE_PERMISSION_NAMES })
    .describe(
      'A permission name: the org-wide names of `permissions` in GET /me and GET /org, or a project name ' +
        '(`view_project` and those of a project reply), which needs `project_id`. Anything else: 400 `invalid_action`.',
    ),
  project_id: z.uuid().optional().describe('The project, for a project permission (and only then)'),
});

export const checkReply = z
  .object({
    allowed: z.boolean(),
    role: role.nullable().describe("The user's current role; null when they belong to no org"),
    org_id: z.string().nullable().describe("The user's org; null when they belong to none"),
    reason: z
      .enum(CHECK_REASONS)
      .nullable()
      .describe(
        'Null when allowed; otherwise why not: `not_a_member` (unknown user or in no org), `user_disabled` (never ' +
          'allowed), `insufficient_role`, `owner_must_transfer` (the owner cannot leave), `project_not_found` (no such ' +
          "project in the user's org), `not_on_project`, `project_read_only` (a viewer), `last_editor` (cannot leave).",
      ),
  })
  .describe('The answer of the same policy the API applies, for the user as they are now');

export const membershipParams = z.strictObject({ user_id: z.uuid() });

const membershipOfMember = z.object({
  org: z.object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    tier: z.enum(['team', 'enterprise']).nullable().describe('The plan; null without an active subscription'),
  }),
  role,
  status: z.enum(['active', 'disabled']),
  usage_limit: z
    .object({ daily: z.number().int().nullable(), monthly: z.number().int().nullable() })
    .describe("The member's usage limits; null means no limit"),
});

export const membershipReply = z
  .union([
    membershipOfMember,
    z.object({ org: z.null() }).describe('The user belongs to no org, or no user has this id (the two are not told apart)'),
  ])
  .describe("The user's org, role, account status and usage limits, read now");
