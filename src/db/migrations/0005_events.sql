-- Domain events (ARCHITECTURE principle 11): every audited change also writes one typed event, in
-- the same transaction as the change (src/audit/record.ts writes both), for outgoing webhooks and
-- any other consumer that must follow the commit.
--
-- Org-scoped like every such table: org_id leads the primary key and the unique index, so the
-- table can be distributed by org_id (principle 12). Every audited change today belongs to an org,
-- so org_id is required; a future org-less event (a user deleting their account) gets its own table.
--
-- position orders an org's events. It is taken when the row is inserted, not when the transaction
-- commits: two concurrent transactions of one org may commit out of position order. Changes that
-- conflict lock the org row and so commit in order; a consumer that must never skip a late-committing
-- lower position (webhooks, in order per org) reads per org with that in mind.
CREATE TABLE events (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  position bigint GENERATED ALWAYS AS IDENTITY,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  type text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
  data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, position)
);
-- The event id is what receivers deduplicate on (webhook-id); looked up within its org.
CREATE UNIQUE INDEX events_org_id_key ON events (org_id, id);
