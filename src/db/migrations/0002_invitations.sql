-- Invitations and mail delivery. The tables come from 0001; this adds the consistency checks the
-- invitation lifecycle and the delivery worker rely on, and the index the development mailbox reads.

-- A status change always records when it happened (the services set both in one guarded UPDATE).
ALTER TABLE invitations ADD CONSTRAINT invitations_accepted_at_check CHECK (status <> 'accepted' OR accepted_at IS NOT NULL);
ALTER TABLE invitations ADD CONSTRAINT invitations_revoked_at_check CHECK (status <> 'revoked' OR revoked_at IS NOT NULL);
ALTER TABLE invitations ADD CONSTRAINT invitations_expiry_check CHECK (expires_at > created_at);

-- The worker claims a row by bumping attempts and pushing next_attempt_at past a lease; a sent row
-- says when, a failed one says why.
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_attempts_check CHECK (attempts >= 0);
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_sent_at_check CHECK (status <> 'sent' OR sent_at IS NOT NULL);
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_failed_error_check CHECK (status <> 'failed' OR last_error IS NOT NULL);

-- Newest first, for the development mailbox and support queries.
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at DESC, id);
