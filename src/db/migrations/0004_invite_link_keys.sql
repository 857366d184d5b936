-- Invitation links that admins can see again in the list, without storing a token: the token is
-- an HMAC of a per-issue nonce under a server key (LINK_SECRET, or a key generated once and kept
-- here). Only the token's hash is matched; the nonce alone opens nothing.
ALTER TABLE invitations ADD COLUMN token_nonce bytea;

CREATE TABLE server_keys (
  name text PRIMARY KEY,
  value bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
