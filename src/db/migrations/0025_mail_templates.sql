-- One message for many recipients, stored once (src/mail/queries.ts templateMailsInsert). A bulk
-- invitation's 1,000 emails differ only by their link; each outbox row stored the whole rendered
-- message (about 3 KB: text and HTML), which made the outbox the largest insert of a bulk (about
-- half of its WAL). Now the message is a mail_templates row with a slot, and each of its outbox
-- rows keeps only the recipient's values; the delivery worker and the development mailbox render
-- the message when they read the row (replace(), in the statement that reads it). Single mails
-- keep their rendered bodies in the row, as before.
--
-- No foreign key from mail_outbox.template_id: a template is written in the statement that writes
-- its outbox rows and nothing deletes either, so the key would only add an index probe per mail.
CREATE TABLE mail_templates (
  id uuid PRIMARY KEY,
  subject text NOT NULL,
  text_body text NOT NULL,
  html_body text NOT NULL,
  slot text NOT NULL CHECK (slot <> ''),
  created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE mail_outbox
  ALTER COLUMN subject DROP NOT NULL,
  ALTER COLUMN text_body DROP NOT NULL,
  ALTER COLUMN html_body DROP NOT NULL,
  ADD COLUMN template_id uuid,
  ADD COLUMN slot_text text,
  ADD COLUMN slot_html text,
  ADD CONSTRAINT mail_outbox_message_check CHECK (
    (template_id IS NULL AND subject IS NOT NULL AND text_body IS NOT NULL AND html_body IS NOT NULL)
    OR (template_id IS NOT NULL AND slot_text IS NOT NULL AND slot_html IS NOT NULL
        AND subject IS NULL AND text_body IS NULL AND html_body IS NULL)
  );
