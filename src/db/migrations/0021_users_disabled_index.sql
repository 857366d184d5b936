-- The disabled users, few among many: GET /org counts the members who could use the org's whole
-- allocation (not disabled, no limit) as every member minus the disabled and limited ones, and
-- finds the disabled ones here instead of reading every member's account.
CREATE INDEX users_disabled_idx ON users (id) WHERE disabled_at IS NOT NULL;
