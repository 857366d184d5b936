-- Outgoing webhooks (src/webhooks). An endpoint is the host app's receiver: created with a service
-- token, so it belongs to no org; it receives the events of every org, or of the one org it names.
-- Global like service_tokens (a reference table on Citus). The signing secret is stored encrypted
-- (AES-256-GCM under WEBHOOK_SECRET_KEY, the endpoint id as associated data), never in plain text.
CREATE TABLE webhook_endpoints (
  id uuid PRIMARY KEY,
  url text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
  -- Event types it receives, or '*' for all.
  event_types text[] NOT NULL CHECK (cardinality(event_types) > 0),
  org_id uuid REFERENCES orgs (id) ON DELETE CASCADE,
  secret_encrypted bytea NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL
);

-- One row per event and endpoint, written by the statement that appends the event (same
-- transaction, so a delivery exists exactly when its event commits). Org-scoped: org_id leads the
-- primary key, so the table distributes by org_id; the claim runs per org (SKIP LOCKED with
-- org_id = $1). A lane is (org_id, endpoint_id): only its lowest pending event_position is ever
-- claimed, so an org's events reach an endpoint in order. The event's fields are copied (the body
-- is rebuilt from them on each attempt) so delivering reads no other module's table.
CREATE TABLE webhook_deliveries (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_position bigint NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  event_data jsonb NOT NULL,
  event_created_at timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_status integer,
  last_error text,
  delivered_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (org_id, endpoint_id, event_position)
);
-- Which orgs have due work (the first step of a claim).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, org_id) WHERE status = 'pending';
-- The head of each lane: the lowest pending position of an org and endpoint.
CREATE INDEX webhook_deliveries_lane_idx ON webhook_deliveries (org_id, endpoint_id, event_position) WHERE status = 'pending';
-- The delivery log of an endpoint, newest first.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, event_position DESC);
