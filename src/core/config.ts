// The validated configuration an operation can read (src/config.ts loads it from the environment).
// Declared in core so that the operation context names it without importing upward.
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL: the server ends a session idle inside a transaction for longer (0: never). */
  databaseIdleTxTimeoutMs: number;
  publicUrl: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  bulkInviteMax: number;
  inviteTtlSeconds: number;
  stripeSecretKey: string | undefined;
  stripeWebhookSecret: string | undefined;
  isProduction: boolean;
  trustProxy: string[] | false;
  /** Key of invitation-link tokens; unset: a key generated once and kept in the database. */
  linkSecret: string | undefined;
  logLevel: string;
  /** Counter rows per member for usage limits (see src/usage/queries.ts). */
  usageCounterSlices: number;
}
