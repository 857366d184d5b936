/**
 * A text as the outbox stores it: its tokens sealed, or checked to hold nothing that could be
 * mistaken for a sealed one (src/mail/sealing.ts makes both). A file of its own, so that a table
 * owner's queries can name it without importing the sealer (which reads `server_keys` through
 * src/invites/queries.ts).
 */
export type Sealed = string & { readonly __sealed: unique symbol };
