-- webhook_endpoints is global (an endpoint is created with a service token and belongs to no org):
-- on Citus it is a reference table, so that the statement appending events can join it with the
-- org's shard and webhook_deliveries (distributed by org_id) can keep its foreign key to it, with
-- ON DELETE CASCADE, which Citus allows only towards a reference table. Citus refuses a foreign key
-- from a reference table to a distributed one, so the endpoint's org_id -> orgs key goes, on every
-- engine (same schema everywhere, like subscriptions.org_id in 0013): creating an endpoint checks
-- that the org exists (src/webhooks/service.ts), and orgs are never deleted, so the cascade never ran.
ALTER TABLE webhook_endpoints DROP CONSTRAINT IF EXISTS webhook_endpoints_org_id_fkey;
