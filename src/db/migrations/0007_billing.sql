-- Billing on Stripe: subscription states, the provider's customers, applied provider events,
-- and idempotent storage reservations.

-- past_due keeps the seats (Stripe retries the payment); canceled leaves no seats. A scope has at
-- most one live (not canceled) subscription.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check CHECK (status IN ('active', 'past_due', 'canceled'));
DROP INDEX subscriptions_active_user_key;
DROP INDEX subscriptions_active_org_key;
CREATE UNIQUE INDEX subscriptions_live_user_key ON subscriptions (user_id) WHERE status <> 'canceled' AND user_id IS NOT NULL;
CREATE UNIQUE INDEX subscriptions_live_org_key ON subscriptions (org_id) WHERE status <> 'canceled' AND org_id IS NOT NULL;
CREATE INDEX subscriptions_provider_ref_idx ON subscriptions (provider_ref);
ALTER TABLE subscriptions ADD COLUMN current_period_end timestamptz;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false;

-- The provider's customer of each org and each personal buyer, created on first use. Keyed by the
-- provider's id: a webhook finds its org through this row, never through event metadata. A global
-- table (a webhook knows no org before this lookup); one lookup reaches one row.
CREATE TABLE billing_customers (
  provider_customer_id text PRIMARY KEY,
  org_id uuid REFERENCES orgs (id) ON DELETE CASCADE,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((user_id IS NULL) <> (org_id IS NULL))
);
CREATE UNIQUE INDEX billing_customers_org_key ON billing_customers (org_id) WHERE org_id IS NOT NULL;
CREATE UNIQUE INDEX billing_customers_user_key ON billing_customers (user_id) WHERE user_id IS NOT NULL;

-- Each provider event id is applied once: the row is written in the transaction that applies it.
CREATE TABLE billing_events (
  event_id text PRIMARY KEY,
  type text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- A retried reservation (same key) counts once.
CREATE TABLE storage_reservations (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
  bytes bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, key)
);
