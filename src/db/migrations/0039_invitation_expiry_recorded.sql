-- An invitation's expiry is recorded (the audit entry and the event invite.expired) when it passes,
-- by a sweep that every process runs (src/invites/expiry.ts), not only when a new invitation
-- replaces the expired one. `expiry_recorded_at` says it was: the sweep records each expiry once,
-- also when several processes sweep at once, and a replacement does not record it again. A resend
-- gives the invitation a new expiry and clears it.
--
-- Expiries that passed before this migration are marked recorded without an entry: they are
-- history, not news, and a first sweep must not send a burst of events about them.
ALTER TABLE invitations ADD COLUMN expiry_recorded_at timestamptz;
UPDATE invitations SET expiry_recorded_at = expires_at WHERE status = 'pending' AND expires_at <= now();
-- What the sweep looks for: pending invitations whose expiry is not recorded yet, by expiry.
CREATE INDEX invitations_unrecorded_expiry_idx ON invitations (expires_at) WHERE status = 'pending' AND expiry_recorded_at IS NULL;
