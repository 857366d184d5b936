// Request and reply shapes of the Roster HTTP API v1, as aliases of the types generated from the
// server's OpenAPI document (@roster/client's schema.d.ts, `npm run gen:api`): when a route's schema changes,
// regenerating makes every mismatch here and in the components a type error.
// Field names are the contract's snake_case on purpose: these objects are the wire format.
import type { paths } from '@roster/client';

type Operation<P extends keyof paths, M extends keyof paths[P]> = paths[P][M];
type JsonOf<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

/** The JSON reply of `M P` with status `S` (200 unless given). */
export type Reply<P extends keyof paths, M extends keyof paths[P], S extends number = 200> =
  Operation<P, M> extends { responses: infer Responses } ? (S extends keyof Responses ? JsonOf<Responses[S]> : never) : never;

/** The JSON body of `M P`. */
export type RequestBody<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { requestBody?: infer Body } ? JsonOf<NonNullable<Body>> : never;

/** The query parameters of `M P`. */
export type QueryOf<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { parameters: { query?: infer Query } } ? NonNullable<Query> : never;

// Auth and the signed-in user
export type MeResponse = Reply<'/api/v1/me', 'get'>;
export type User = MeResponse['user'];
export type AuthResponse = Reply<'/api/v1/auth/signup', 'post', 201>;
export type SignupInput = RequestBody<'/api/v1/auth/signup', 'post'>;
export type LoginInput = RequestBody<'/api/v1/auth/login', 'post'>;
export type ApiErrorBody = Reply<'/api/v1/me', 'get', 401>['error'];
export type ChangePasswordInput = RequestBody<'/api/v1/auth/password', 'post'>;

// API tokens
export type ApiToken = Reply<'/api/v1/tokens', 'get'>['tokens'][number];
export type CreatedApiToken = Reply<'/api/v1/tokens', 'post', 201>;

// Organization and members
type OrgReply = Reply<'/api/v1/org', 'get'>;
type OrgWithMembers = Extract<OrgReply, { org: unknown }>;
/** `GET /api/v1/org`: a user in no org gets `{}`. */
export type OrgResponse = OrgWithMembers | { org?: undefined };
export type Org = OrgWithMembers['org'];
export type SeatUsage = Org['seats'];
export type Member = OrgWithMembers['members'][number];
export type OrgRole = Member['role'];
export type MemberStatus = Member['status'];
export type MembersPage = Reply<'/api/v1/org/members', 'get'>;
/** What the caller may do in the org now (`permissions` of GET /org and of /me's `org`). */
export type OrgAction = OrgWithMembers['permissions'][number];
/** What the caller may do to one member now (each member's `permissions`). */
export type MemberAction = Member['permissions'][number];
export type MembersQuery = QueryOf<'/api/v1/org/members', 'get'>;
export type UsageLimit = RequestBody<'/api/v1/org/members/{user_id}/usage-limit', 'put'>;

// Invitations
export type Invite = Reply<'/api/v1/org/invites', 'get'>['invites'][number];
export type InvitableRole = RequestBody<'/api/v1/org/members/{user_id}/role', 'put'>['role'];
export type InviteStatus = Invite['status'];
export type BulkInviteInput = RequestBody<'/api/v1/org/invites/bulk', 'post'>;
export type BulkInviteResponse = Reply<'/api/v1/org/invites/bulk', 'post'>;
export type BulkResult = BulkInviteResponse['results'][number];
export type PublicInvite = Reply<'/api/v1/invites/{token}', 'get'>;
export type AcceptInviteResponse = Reply<'/api/v1/invites/{token}/accept', 'post'>;

// Billing
export type Plan = Reply<'/api/v1/billing/plans', 'get'>['plans'][number];
export type CheckoutInput = RequestBody<'/api/v1/billing/checkout', 'post'>;
/** The user's own subscription (any status; a live one is what POST /org moves to the new org). */
export type PersonalSubscription = NonNullable<Reply<'/api/v1/me/subscription', 'get'>['subscription']>;
export type OrgBilling = Reply<'/api/v1/org/billing', 'get'>;
export type BillingStatus = OrgBilling['status'];
export type SeatsInput = RequestBody<'/api/v1/org/billing/seats', 'put'>;
export type SeatsReply = Reply<'/api/v1/org/billing/seats', 'put'>;
export type OrgStorage = Reply<'/api/v1/org/storage', 'get'>;
/** The org's monthly usage allocation (credits); `monthly`/`remaining` null: unlimited. */
export type OrgAllocation = OrgBilling['allocation'];

// Usage
export type MyUsage = Reply<'/api/v1/usage', 'get'>;
export type UsageTotals = MyUsage['day'];
export type OrgUsage = Reply<'/api/v1/org/usage', 'get'>;
export type MemberUsage = OrgUsage['members'][number];
export type UsagePeriod = NonNullable<QueryOf<'/api/v1/org/usage', 'get'>['period']>;

// Audit log
export type AuditPage = Reply<'/api/v1/org/audit', 'get'>;
export type AuditEntry = AuditPage['entries'][number];
export type AuditQuery = QueryOf<'/api/v1/org/audit', 'get'>;

// Development mailbox
export type MailboxMessage = Reply<'/api/dev/mailbox', 'get'>['messages'][number];
