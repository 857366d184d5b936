import { redactSecrets } from '../core/tokens.ts';
import { redactSealed } from './sealing.ts';

/**
 * What an outbox row keeps once its message has left (sent, or failed for good): the same
 * message with every token, sealed (src/mail/sealing.ts) or not, replaced (`rs_inv_[redacted]`,
 * src/core/tokens.ts redactSecrets), so
 * the row still shows what was sent to whom and when, and a copy of the database or a backup
 * holds no live invitation link or verification token (the contract: such tokens are stored only
 * as hashes). A row of a template (a bulk invitation) keeps its token in its slot values only:
 * the template itself holds the slot marker, never a token.
 */
export interface RedactedMessage {
  /** The redacted value of each column, or null where the column is null or holds no token (left as it is). */
  text_body: string | null;
  html_body: string | null;
  slot_text: string | null;
  slot_html: string | null;
}

/** The outbox columns of one message as stored (a single mail's bodies, or a template row's slot values). */
export interface StoredMessage {
  template_id: string | null;
  text_body: string | null;
  html_body: string | null;
  slot_text: string | null;
  slot_html: string | null;
}

export function redactedMessage(stored: StoredMessage): RedactedMessage {
  const isTemplateRow = stored.template_id !== null;
  return {
    text_body: isTemplateRow ? null : changedOrNull(stored.text_body),
    html_body: isTemplateRow ? null : changedOrNull(stored.html_body),
    slot_text: isTemplateRow ? changedOrNull(stored.slot_text) : null,
    slot_html: isTemplateRow ? changedOrNull(stored.slot_html) : null,
  };
}

/** Null when there is nothing to redact, so the statement sends back no body that is not changed. */
function changedOrNull(value: string | null): string | null {
  if (value === null) return null;
  const redacted = redactSecrets(redactSealed(value));
  return redacted === value ? null : redacted;
}
