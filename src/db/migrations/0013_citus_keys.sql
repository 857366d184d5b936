-- Keys that Citus can hold (ARCHITECTURE principle 12, docs/citus.md). Applied on every engine, so
-- the schema is the same on PGlite, PostgreSQL and Citus: a distributed table's primary key and
-- unique indexes lead with its distribution column (org_id; orgs.id), and no table that stays
-- global (reference or coordinator-local) has a foreign key to an org-scoped one.

-- Global uniqueness that spanned orgs moves to small global tables keyed by what must be unique.
-- Their primary keys keep the old index names, so a violation still names the same constraint
-- (`slug_taken`, `already_in_org`). orgs and memberships keep their columns for the reads.

-- One slug per org across every org. Orgs are never deleted, so no cascade is lost.
CREATE TABLE org_slugs (
  slug text NOT NULL,
  org_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO org_slugs (slug, org_id, created_at) SELECT slug, id, created_at FROM orgs;
DROP INDEX orgs_slug_key;
ALTER TABLE org_slugs ADD CONSTRAINT orgs_slug_key PRIMARY KEY (slug);
CREATE INDEX orgs_slug_idx ON orgs (slug);

-- One org per user: the user's membership, keyed by user. Written with the membership row in the
-- same transaction (src/orgs/queries.ts); goes with the user.
CREATE TABLE user_orgs (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id uuid NOT NULL
);
INSERT INTO user_orgs (user_id, org_id) SELECT user_id, org_id FROM memberships;
DROP INDEX memberships_user_id_key;
ALTER TABLE user_orgs ADD CONSTRAINT memberships_user_id_key PRIMARY KEY (user_id);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

-- Invitations: the id and the token hash are unique within their org (both are random: 122 and
-- 256 bits, so no two orgs draw the same one). The token lookup keeps a plain index.
DROP INDEX invitations_id_key;
DROP INDEX invitations_token_hash_key;
CREATE UNIQUE INDEX invitations_org_token_hash_key ON invitations (org_id, token_hash);
CREATE INDEX invitations_token_hash_idx ON invitations (token_hash);

-- Global tables that named an org: a foreign key from a global table to an org-scoped (distributed)
-- one is refused by Citus. Orgs are never deleted, so the cascades never ran.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_org_id_fkey;
ALTER TABLE billing_customers DROP CONSTRAINT billing_customers_org_id_fkey;
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_org_id_fkey;
