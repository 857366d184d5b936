-- When a service token last authenticated a request, to the minute (the request hook sets it at
-- most once a minute per token, in its authentication statement): `roster admin
-- list-service-tokens` shows it, so the operator sees which tokens are still in use before
-- revoking one. Null: never used.
ALTER TABLE service_tokens ADD COLUMN last_used_at timestamptz;
