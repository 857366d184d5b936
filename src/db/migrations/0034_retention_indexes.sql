-- Retention (src/retention): the background sweep deletes sent and failed mails and finished
-- webhook deliveries after MAIL_RETENTION_DAYS / WEBHOOK_RETENTION_DAYS, and expired sessions,
-- email verifications and rate-limit windows. Each sweep reads only the rows it deletes through
-- these indexes, not the whole table (mail_outbox has its creation-time index since 0002).
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX email_verifications_expires_idx ON email_verifications (expires_at);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE status <> 'pending';
