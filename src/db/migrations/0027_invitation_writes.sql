-- What every invitation row paid for on insert that no rule needs (bench/README.md, "A bulk's
-- invitation rows: foreign keys and a second token index"; about a fifth of a bulk of 1,000):
--  * three foreign keys, each checked row by row under a key-share lock: org_id → orgs,
--    invited_by and accepted_by → users. Every writer of invitations holds its org's row lock (the
--    org exists) and has read the inviter's membership (or the accepting user's account) in the
--    same transaction, and no operation deletes an org or a user (as for the logs, 0024). If one
--    ever does, it deals with the org's invitations through the invites module, not a cascade.
--  * the unique index (org_id, token_hash) beside the plain index on token_hash (0013): the plain
--    index serves both lookups (a token naming its org, and an older token by its hash alone; on
--    Citus on the org's shard or on every shard). A token hash is the SHA-256 of an HMAC over 128
--    random bits: no two collide, so uniqueness was never a rule to enforce.
ALTER TABLE invitations DROP CONSTRAINT invitations_org_id_fkey;
ALTER TABLE invitations DROP CONSTRAINT invitations_invited_by_fkey;
ALTER TABLE invitations DROP CONSTRAINT invitations_accepted_by_fkey;
DROP INDEX invitations_org_token_hash_key;
