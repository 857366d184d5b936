-- Service tokens (rs_svc_…): the host app's backend calls Roster with one. Global (no org),
-- created, listed and revoked with the operator CLI; only the SHA-256 of the token is stored.
CREATE TABLE service_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  scopes text[] NOT NULL CHECK (
    cardinality(scopes) > 0
    AND scopes <@ ARRAY['usage:write', 'authz:read', 'storage:write', 'webhooks:manage']::text[]
  ),
  token_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
