// Request and response shapes of the Roster HTTP API v1 (see shared api-v1.md and /api/openapi.json).
// Field names are the contract's snake_case on purpose: these objects are the wire format.

export type OrgRole = 'owner' | 'admin' | 'member';
export type InvitableRole = 'admin' | 'member';
export type MemberStatus = 'active' | 'disabled';
export type InviteStatus = 'pending' | 'expired' | 'revoked' | 'accepted';
export type UsagePeriod = 'day' | 'month';

export interface User {
  id: string;
  email: string;
  name: string;
  email_verified: boolean;
}

export interface MeResponse {
  user: User;
  org: { id: string; slug: string; name: string; role: OrgRole } | null;
}

export interface AuthResponse {
  user: User;
  token: string;
}

export interface SignupInput {
  email: string;
  password: string;
  name: string;
  invite_token?: string;
}

export interface LoginInput {
  email: string;
  password: string;
}

export interface SeatUsage {
  used: number;
  limit: number;
  active_members: number;
  pending_invites: number;
}

export interface Org {
  id: string;
  name: string;
  slug: string;
  tier: string | null;
  seats: SeatUsage;
  storage_used_bytes: number;
  storage_limit_bytes: number | null;
  /** Members with neither a daily nor a monthly individual limit. */
  members_without_limit?: number;
}

export interface UsageLimit {
  daily: number | null;
  monthly: number | null;
}

export interface Member {
  user_id: string;
  email: string;
  display_name: string;
  role: OrgRole;
  status: MemberStatus;
  joined_at: string;
  usage_limit?: UsageLimit;
}

/** `GET /api/v1/org`: a user in no org gets `{}`. */
export type OrgResponse = { org: Org; members: Member[]; role: OrgRole } | { org?: undefined };

export interface MembersPage {
  members: Member[];
  next_cursor: string | null;
}

export interface MembersQuery {
  limit?: number;
  cursor?: string;
  q?: string;
  role?: OrgRole;
  status?: MemberStatus;
}

export interface Invite {
  id: string;
  email: string;
  role: InvitableRole;
  status: InviteStatus;
  created_at: string;
  expires_at: string;
  link: string;
  invited_by?: { user_id?: string; email?: string; name?: string } | string | null;
}

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type BulkResult =
  | { email: string; ok: true; invite_id?: string }
  | { email: string; ok: false; error: { code: string; message: string } };

export interface BulkInviteResponse {
  results: BulkResult[];
  invited: number;
  failed: number;
}

export interface BulkInviteInput {
  text?: string;
  emails?: string[];
  role?: InvitableRole;
  dry_run?: boolean;
}

export interface PublicInvite {
  org: { name: string };
  inviter: { name: string };
  email: string;
  role: InvitableRole;
  status: InviteStatus;
}

export interface AcceptInviteResponse {
  org: { id?: string; name: string; slug?: string };
  role: OrgRole;
}

export interface Plan {
  id: 'team' | 'enterprise';
  name: string;
  price_cents_per_seat: number | null;
  currency: string;
  default_seats: number;
  storage_bytes_per_seat: number | null;
  self_serve: boolean;
}

export interface CheckoutInput {
  plan: 'team';
  seats: number;
  scope: 'personal' | 'org';
}

export interface OrgBilling {
  plan: string;
  seats: number;
  active_members: number;
  pending_invites: number;
  portal_available: boolean;
  enterprise: { seats: number; active_members: number } | null;
}

export interface UsageTotals {
  used: number;
  limit: number | null;
  by_activity: Record<string, number>;
}

export interface MyUsage {
  day: UsageTotals;
  month: UsageTotals;
}

export interface MemberUsage {
  user_id: string;
  email: string;
  display_name: string;
  total: number;
  by_activity: Record<string, number>;
  limits: UsageLimit;
}

export interface OrgUsage {
  period: UsagePeriod;
  start: string;
  members: MemberUsage[];
}

export interface AuditEntry {
  id: string;
  action: string;
  actor: { user_id: string; email: string } | null;
  actor_label: string;
  target_type: string | null;
  target_id: string | null;
  before: unknown;
  after: unknown;
  created_at: string;
  request_id: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

export interface AuditQuery {
  cursor?: string;
  action?: string;
  actor?: string;
}

export interface MailboxMessage {
  id: string;
  to: string;
  subject: string;
  text: string;
  html?: string | null;
  created_at: string;
  status: string;
  links: string[];
}
