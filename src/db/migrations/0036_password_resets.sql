-- Password reset links (POST /api/v1/auth/password-reset): the same shape as an email
-- verification (a user, a token's hash, an expiry, used once), kept in the same table and told
-- apart by purpose, so the retention sweep deletes both once expired.
ALTER TABLE email_verifications
  ADD COLUMN purpose text NOT NULL DEFAULT 'verify_email' CHECK (purpose IN ('verify_email', 'password_reset'));
