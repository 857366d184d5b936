// TypeScript view of the tables that the SQL migrations create. The migrations are the
// source of truth; src/db/migrate.test.ts checks that this file matches them.
import {
  bigint,
  boolean,
  customType,
  date,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Plan, Role, ServiceScope } from '../core/domain.ts';

export type { Plan, Role };

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
});
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').notNull(),
  emailNormalized: text('email_normalized').notNull(),
  name: text('name').notNull(),
  passwordHash: text('password_hash').notNull(),
  emailVerifiedAt: timestamptz('email_verified_at'),
  disabledAt: timestamptz('disabled_at'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

export const sessions = pgTable('sessions', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  tokenHash: bytea('token_hash').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  expiresAt: timestamptz('expires_at').notNull(),
});

export const apiTokens = pgTable('api_tokens', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  name: text('name').notNull(),
  tokenHash: bytea('token_hash').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/** Service tokens (global: no org): the host app's backend. Only the token's SHA-256 is stored. */
export const serviceTokens = pgTable('service_tokens', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  scopes: text('scopes').array().$type<ServiceScope[]>().notNull(),
  tokenHash: bytea('token_hash').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  revokedAt: timestamptz('revoked_at'),
  lastUsedAt: timestamptz('last_used_at'),
});

export const emailVerifications = pgTable('email_verifications', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  tokenHash: bytea('token_hash').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  expiresAt: timestamptz('expires_at').notNull(),
  usedAt: timestamptz('used_at'),
  purpose: text('purpose').$type<'verify_email' | 'password_reset'>().notNull().default('verify_email'),
});

export const orgs = pgTable('orgs', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  slug: text('slug').notNull(),
  storageUsedBytes: bigint('storage_used_bytes', { mode: 'number' }).notNull().default(0),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/** Slugs are unique across orgs: a global table keyed by slug (0013, docs/citus.md). */
export const orgSlugs = pgTable('org_slugs', {
  slug: text('slug').primaryKey(),
  orgId: uuid('org_id').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/** One org per user: a global table keyed by user (0013, docs/citus.md). */
export const userOrgs = pgTable('user_orgs', {
  userId: uuid('user_id').primaryKey(),
  orgId: uuid('org_id').notNull(),
});

export const memberships = pgTable(
  'memberships',
  {
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    role: text('role').$type<Role>().notNull(),
    joinedAt: timestamptz('joined_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.userId] })],
);

export const subscriptions = pgTable('subscriptions', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id'),
  orgId: uuid('org_id'),
  plan: text('plan').$type<Plan>().notNull(),
  seats: integer('seats').notNull(),
  status: text('status').$type<SubscriptionStatus>().notNull(),
  provider: text('provider').notNull(),
  providerRef: text('provider_ref'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  currentPeriodEnd: timestamptz('current_period_end'),
  cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
});

export type SubscriptionStatus = 'active' | 'past_due' | 'canceled';

export const billingCustomers = pgTable('billing_customers', {
  providerCustomerId: text('provider_customer_id').primaryKey(),
  orgId: uuid('org_id'),
  userId: uuid('user_id'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

export const billingEvents = pgTable('billing_events', {
  eventId: text('event_id').primaryKey(),
  type: text('type').notNull(),
  appliedAt: timestamptz('applied_at').notNull().defaultNow(),
});

export const storageReservations = pgTable(
  'storage_reservations',
  {
    orgId: uuid('org_id').notNull(),
    key: text('key').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.key] })],
);

export const mailOutbox = pgTable('mail_outbox', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id'),
  kind: text('kind').notNull(),
  toAddress: text('to_address').notNull(),
  /** The rendered message; null when the row is one recipient of a template (migration 0025). */
  subject: text('subject'),
  textBody: text('text_body'),
  htmlBody: text('html_body'),
  status: text('status').$type<'pending' | 'sent' | 'failed'>().notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamptz('next_attempt_at').notNull().defaultNow(),
  lastError: text('last_error'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  sentAt: timestamptz('sent_at'),
  /** The message of many recipients, rendered when read with slotText / slotHtml in its slot. */
  templateId: uuid('template_id'),
  slotText: text('slot_text'),
  slotHtml: text('slot_html'),
});

/** One message for many outbox rows (a bulk invitation's emails), stored once. */
export const mailTemplates = pgTable('mail_templates', {
  id: uuid('id').primaryKey(),
  subject: text('subject').notNull(),
  textBody: text('text_body').notNull(),
  htmlBody: text('html_body').notNull(),
  slot: text('slot').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

export const auditLog = pgTable(
  'audit_log',
  {
    orgId: uuid('org_id').notNull(),
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    actorUserId: uuid('actor_user_id'),
    actorLabel: text('actor_label').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    before: jsonb('before'),
    after: jsonb('after'),
    requestId: text('request_id'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.id] })],
);

/** Changes that belong to no org (service tokens, webhook endpoints, accounts outside any org); see 0023. */
export const globalAuditLog = pgTable('global_audit_log', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  actorLabel: text('actor_label').notNull(),
  action: text('action').notNull(),
  targetType: text('target_type').notNull(),
  targetId: text('target_id').notNull(),
  before: jsonb('before'),
  after: jsonb('after'),
  requestId: text('request_id'),
  createdAt: timestamptz('created_at').notNull(),
});

/** Typed domain events, one per audited change (src/events/types.ts); see 0005_events.sql. */
export const events = pgTable(
  'events',
  {
    orgId: uuid('org_id').notNull(),
    position: bigint('position', { mode: 'number' }).generatedAlwaysAsIdentity(),
    id: uuid('id').notNull().defaultRandom(),
    type: text('type').notNull(),
    data: jsonb('data').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.position] })],
);

/** Outgoing webhook receivers (src/webhooks); see 0011_webhooks.sql. */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: uuid('id').primaryKey(),
  url: text('url').notNull(),
  eventTypes: text('event_types').array().notNull(),
  orgId: uuid('org_id'),
  secretEncrypted: bytea('secret_encrypted').notNull(),
  /** During a rotation (0022): the secret that was current, still signing until the time below. */
  previousSecretEncrypted: bytea('previous_secret_encrypted'),
  previousSecretExpiresAt: timestamptz('previous_secret_expires_at'),
  createdBy: text('created_by').notNull(),
  createdAt: timestamptz('created_at').notNull(),
});

/** One event's delivery to one endpoint; see 0011_webhooks.sql. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    orgId: uuid('org_id').notNull(),
    endpointId: uuid('endpoint_id').notNull(),
    eventPosition: bigint('event_position', { mode: 'number' }).notNull(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    eventData: jsonb('event_data').notNull(),
    eventCreatedAt: timestamptz('event_created_at').notNull(),
    status: text('status').$type<'pending' | 'delivered' | 'failed'>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamptz('next_attempt_at').notNull(),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deliveredAt: timestamptz('delivered_at'),
    finishedAt: timestamptz('finished_at'),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.endpointId, table.eventPosition] })],
);

/**
 * Sliding-window rate limits (src/auth/queries.ts): `times` are the key's accepted events still
 * inside its window, oldest first; `window_start` is the oldest of them and `count` the ordinal of
 * the latest attempt among them (one more than the limit when it was refused).
 */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  windowStart: timestamptz('window_start').notNull(),
  count: integer('count').notNull(),
  times: timestamptz('times').array().notNull().default([]),
});

export const invitations = pgTable(
  'invitations',
  {
    orgId: uuid('org_id').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    email: text('email').notNull(),
    emailNormalized: text('email_normalized').notNull(),
    role: text('role').$type<'admin' | 'member'>().notNull(),
    status: text('status').$type<'pending' | 'accepted' | 'revoked' | 'expired'>().notNull(),
    tokenHash: bytea('token_hash').notNull(),
    tokenNonce: bytea('token_nonce'),
    invitedBy: uuid('invited_by'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
    acceptedAt: timestamptz('accepted_at'),
    acceptedBy: uuid('accepted_by'),
    revokedAt: timestamptz('revoked_at'),
    /** When the sweep recorded the expiry (src/invites/expiry.ts); null while pending and unexpired. */
    expiryRecordedAt: timestamptz('expiry_recorded_at'),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.id] })],
);

export const usageLimits = pgTable(
  'usage_limits',
  {
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    dailyLimit: bigint('daily_limit', { mode: 'number' }),
    monthlyLimit: bigint('monthly_limit', { mode: 'number' }),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.userId] })],
);

export const usageCounters = pgTable(
  'usage_counters',
  {
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    slice: smallint('slice').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    dayUsed: bigint('day_used', { mode: 'number' }).notNull().default(0),
    dayQuota: bigint('day_quota', { mode: 'number' }),
    month: date('month', { mode: 'string' }).notNull(),
    monthUsed: bigint('month_used', { mode: 'number' }).notNull().default(0),
    monthQuota: bigint('month_quota', { mode: 'number' }),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.userId, table.slice] })],
);

export const usageActivity = pgTable(
  'usage_activity',
  {
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    activity: text('activity').notNull(),
    slice: smallint('slice').notNull(),
    quantity: bigint('quantity', { mode: 'number' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.userId, table.day, table.activity, table.slice] })],
);

// Organization allocation (credits), owned by src/usage (0008_allocation.sql).
export const orgUsage = pgTable(
  'org_usage',
  {
    orgId: uuid('org_id').notNull(),
    month: date('month', { mode: 'string' }).notNull(),
    used: bigint('used', { mode: 'number' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.month] })],
);

export const orgAllocations = pgTable('org_allocations', {
  orgId: uuid('org_id').primaryKey(),
  monthly: bigint('monthly', { mode: 'number' }),
  updatedAt: timestamptz('updated_at').notNull(),
});

export const allocationNotices = pgTable(
  'allocation_notices',
  {
    orgId: uuid('org_id').notNull(),
    month: date('month', { mode: 'string' }).notNull(),
    level: text('level').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.month, table.level] })],
);

// Retried usage requests and the once-per-period limit event, owned by src/usage (0010_usage_keys.sql).
export const usageKeys = pgTable(
  'usage_keys',
  {
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    key: text('key').notNull(),
    month: date('month', { mode: 'string' }).notNull(),
    activity: text('activity').notNull(),
    quantity: bigint('quantity', { mode: 'number' }).notNull(),
    dayUsed: bigint('day_used', { mode: 'number' }),
    dayLimit: bigint('day_limit', { mode: 'number' }),
    monthUsed: bigint('month_used', { mode: 'number' }),
    monthLimit: bigint('month_limit', { mode: 'number' }),
    createdAt: timestamptz('created_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.userId, table.key] })],
);

export const usageLimitNotices = pgTable(
  'usage_limit_notices',
  {
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    period: text('period').notNull(),
    start: date('start', { mode: 'string' }).notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.userId, table.period, table.start] })],
);

export const serverKeys = pgTable('server_keys', {
  name: text('name').primaryKey(),
  value: bytea('value').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

export const projects = pgTable(
  'projects',
  {
    orgId: uuid('org_id').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    description: text('description'),
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    createdBy: uuid('created_by'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.id] })],
);

export const projectMembers = pgTable(
  'project_members',
  {
    orgId: uuid('org_id').notNull(),
    projectId: uuid('project_id').notNull(),
    userId: uuid('user_id').notNull(),
    editor: boolean('editor').notNull(),
    addedAt: timestamptz('added_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.projectId, table.userId] })],
);
