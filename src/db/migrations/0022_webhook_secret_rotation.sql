-- Signing-secret rotation (POST /api/v1/webhooks/{id}/rotate-secret): the secret that was current
-- keeps signing, beside the new one, until previous_secret_expires_at, so a receiver can switch to
-- the new secret without missing a delivery (Standard Webhooks: several space-separated signatures
-- in webhook-signature). Encrypted like secret_encrypted (AES-256-GCM, the endpoint id as associated
-- data). Plain ADD COLUMN: Citus propagates it to the reference table.
ALTER TABLE webhook_endpoints
  ADD COLUMN previous_secret_encrypted bytea,
  ADD COLUMN previous_secret_expires_at timestamptz,
  ADD CONSTRAINT webhook_endpoints_previous_secret_check
    CHECK ((previous_secret_encrypted IS NULL) = (previous_secret_expires_at IS NULL));
