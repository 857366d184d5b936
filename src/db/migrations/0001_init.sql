-- Accounts, sessions, organizations, memberships, subscriptions, outbox, audit, rate limits.
-- Every invariant that a constraint can hold is a constraint here; the services add row locks
-- for the rules that span rows (seats, last admin).

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  -- trimmed, lower-cased, domain in punycode: two addresses that normalize alike are one account
  email_normalized text NOT NULL CHECK (email_normalized = lower(email_normalized)),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  password_hash text NOT NULL,
  email_verified_at timestamptz,
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_normalized_key ON users (email_normalized);

CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE api_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE email_verifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE UNIQUE INDEX email_verifications_token_hash_key ON email_verifications (token_hash);

CREATE TABLE orgs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9-]{3,63}$'),
  storage_used_bytes bigint NOT NULL DEFAULT 0 CHECK (storage_used_bytes >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug);

CREATE TABLE memberships (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);
-- one organization per user
CREATE UNIQUE INDEX memberships_user_id_key ON memberships (user_id);
-- at most one owner per organization (the services keep "at least one")
CREATE UNIQUE INDEX memberships_one_owner_key ON memberships (org_id) WHERE role = 'owner';
CREATE INDEX memberships_org_joined_idx ON memberships (org_id, joined_at, user_id);

-- A subscription belongs to a user (personal, before an org exists) or to an org, never both.
CREATE TABLE subscriptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  org_id uuid REFERENCES orgs (id) ON DELETE CASCADE,
  plan text NOT NULL CHECK (plan IN ('team', 'enterprise')),
  seats integer NOT NULL CHECK (seats >= 1),
  status text NOT NULL CHECK (status IN ('active', 'canceled')),
  provider text NOT NULL,
  provider_ref text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((user_id IS NULL) <> (org_id IS NULL))
);
CREATE UNIQUE INDEX subscriptions_active_user_key ON subscriptions (user_id) WHERE status = 'active' AND user_id IS NOT NULL;
CREATE UNIQUE INDEX subscriptions_active_org_key ON subscriptions (org_id) WHERE status = 'active' AND org_id IS NOT NULL;

-- Transactional outbox: a row is written in the same transaction as what it announces.
CREATE TABLE mail_outbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid REFERENCES orgs (id) ON DELETE CASCADE,
  kind text NOT NULL,
  to_address text NOT NULL,
  subject text NOT NULL,
  text_body text NOT NULL,
  html_body text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'pending';

CREATE TABLE audit_log (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  actor_label text NOT NULL,
  action text NOT NULL,
  target_type text,
  target_id text,
  before jsonb,
  after jsonb,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id)
);

-- Fixed-window counters shared by every server process (login throttling, resend limits).
CREATE TABLE rate_limits (
  key text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  count integer NOT NULL
);

-- Invitations hold a seat while pending and unexpired. "Expired" is derived from expires_at,
-- so no sweeper is needed for the seat rule to hold.
CREATE TABLE invitations (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  email text NOT NULL,
  email_normalized text NOT NULL CHECK (email_normalized = lower(email_normalized)),
  role text NOT NULL CHECK (role IN ('admin', 'member')),
  status text NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
  token_hash bytea NOT NULL,
  invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
  revoked_at timestamptz,
  PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX invitations_id_key ON invitations (id);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
-- one pending invitation per org and address
CREATE UNIQUE INDEX invitations_one_pending_key ON invitations (org_id, email_normalized) WHERE status = 'pending';
CREATE INDEX invitations_org_created_idx ON invitations (org_id, created_at DESC);
