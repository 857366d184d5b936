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
  /** Stripe billing: all three set (start-up refuses a half-set configuration), or none. */
  stripe: StripeConfig | null;
  /** BILLING=local: the local provider is allowed under NODE_ENV=production (demos). */
  allowLocalBillingInProduction: boolean;
  /** Monthly usage allocation per Team seat (organization credits). */
  teamCreditsPerSeat: number;
  isProduction: boolean;
  trustProxy: string[] | false;
  /** Key of invitation-link tokens; unset: a key generated once and kept in the database. */
  linkSecret: string | undefined;
  logLevel: string;
  /** Counter rows per member for usage limits (see src/usage/queries.ts). */
  usageCounterSlices: number;
  /**
   * AES-256-GCM key of webhook signing secrets (WEBHOOK_SECRET_KEY, 32 bytes). Unset: development
   * keeps a generated key in DATA_DIR; production cannot create or deliver webhooks.
   */
  webhookSecretKey: Buffer | undefined;
  /** Bearer token of GET /metrics; unset: no metrics route. */
  metricsToken?: string | undefined;
  /** Days a sent or failed email stays in the outbox (src/retention); 0: kept forever. */
  mailRetentionDays: number;
  /** Days a finished webhook delivery stays in its endpoint's log (src/retention); 0: kept forever. */
  webhookRetentionDays: number;
  /**
   * WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: production also delivers webhooks to private, loopback and
   * link-local addresses (receivers on an internal network). Outside production they are always allowed.
   */
  webhookAllowPrivateNetworks: boolean;
}

export interface StripeConfig {
  secretKey: string;
  webhookSecret: string;
  /** The Team plan's per-seat price id (price_…). */
  priceTeam: string;
  /** Base URL of the Stripe API; unset: Stripe's own. A local stub in tests. */
  apiBase: string | undefined;
}
