import type { Config, StripeConfig } from './core/config.ts';
import { isIP, isIPv4 } from 'node:net';
import { z } from 'zod';
import { hasControlCharacter } from './core/text.ts';

/**
 * A whole number written as digits only, at least `min`: Number() would read " " as 0 and "0x10"
 * as 16 (regression: PORT=" " listened on a random port and linked to localhost:0).
 */
function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number written in digits')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

const port = wholeNumber(1, 65535);
const MAX_INVITE_TTL_SECONDS = 365 * 24 * 3600;
const MAX_TEAM_CREDITS_PER_SEAT = 1_000_000_000;
/** A century: a cutoff further back is before what a date can hold. */
const MAX_RETENTION_DAYS = 36_500;
const positiveInt = wholeNumber(1);

// An address as a sender header carries it: no spaces, quotes, brackets or separators.
const ADDRESS = String.raw`[^\s<>()\[\]\\,;:@"]+@[^\s<>()\[\]\\,;:@"]+`;
// `a@example.com`, `Name <a@example.com>` or `"Name, Inc." <a@example.com>`.
const SENDER = new RegExp(String.raw`^(?:${ADDRESS}|(?:[^<>",;]*[^\s<>",;]|"(?:[^"\\]|\\.)*")\s*<${ADDRESS}>)$`);

const mailFrom = z
  .string()
  // A line break would end the From header and start another (Bcc: …): header injection.
  .refine((value) => !hasControlCharacter(value), 'must be one line, without control characters')
  .refine((value) => SENDER.test(value.trim()), 'must be an address or Name <address>, like Roster <no-reply@example.com>');

/** proxy-addr's named ranges (what @fastify/proxy-addr accepts besides addresses and CIDRs). */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address, a CIDR (`10.0.0.0/8`, `fd00::/8`), an IPv4 netmask (`10.0.0.0/255.0.0.0`) or a named range. */
function isTrustedProxy(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const slash = entry.lastIndexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return false;
  if (slash === -1) return true;
  const range = entry.slice(slash + 1);
  if (/^[0-9]{1,3}$/.test(range)) return Number(range) >= 1 && Number(range) <= (version === 4 ? 32 : 128);
  return version === 4 && isIPv4(range) && isNetmask(range);
}

/** A netmask of contiguous ones, not 0.0.0.0 (proxy-addr refuses both others). */
function isNetmask(mask: string): boolean {
  const bits = mask.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
  const inverted = 0xffffffff - bits;
  return bits !== 0 && (inverted & (inverted + 1)) === 0;
}

const trustProxy = z
  .string()
  .refine(
    (value) => value.split(',').every((entry) => isTrustedProxy(entry.trim())),
    'must be comma-separated addresses or CIDR ranges (10.0.0.1, 10.0.0.0/8, fd00::/8) or loopback, linklocal, uniquelocal',
  );

const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  PUBLIC_URL: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//i.test(value), 'must be an http:// or https:// URL')
    // Links are built by appending a path: a query or fragment would swallow it (regression:
    // `…?q=1#x/verify-email?token=…`), and credentials do not belong in emailed links.
    .refine(
      (value) => !/[?#]/.test(value) && !URL.parse(value)?.username,
      'must be a base URL without a query (?), fragment (#) or user name, like https://roster.example.com',
    )
    .optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: mailFrom.optional(),
  BULK_INVITE_MAX: positiveInt.default(100),
  // At most a year: a longer expiry is past what a date can hold (regression: every invitation 500).
  INVITE_TTL_SECONDS: wholeNumber(1, MAX_INVITE_TTL_SECONDS).default(604800),
  // Stripe's own prefixes: a publishable key (pk_…), a webhook secret or price pasted into the
  // wrong variable would otherwise fail only at the first checkout or webhook, in production.
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(live|test)_\S+$/, 'must be a secret or restricted key, sk_live_… or sk_test_… (not the publishable pk_…)')
    .optional(),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_\S+$/, "must be the webhook endpoint's signing secret, whsec_…")
    .optional(),
  STRIPE_PRICE_TEAM: z
    .string()
    .regex(/^price_\S+$/, "must be the Team per-seat price's id, price_…")
    .optional(),
  STRIPE_API_BASE: z
    .string()
    .regex(/^https?:\/\/[^/?#]+\/?$/, 'must be an http(s) URL without a path, like http://127.0.0.1:12111')
    .optional(),
  BILLING: z.enum(['local']).optional(),
  // Times the most seats (100,000) stays a safe integer (regression: 500 from every billing route).
  TEAM_CREDITS_PER_SEAT: wholeNumber(1, MAX_TEAM_CREDITS_PER_SEAT).default(1000),
  // Exactly these: `Production` would otherwise run with development-only routes on.
  NODE_ENV: z.enum(['production', 'development', 'test']).optional(),
  TRUST_PROXY: trustProxy.optional(),
  LINK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // PostgreSQL's idle_in_transaction_session_timeout is an int of milliseconds.
  DATABASE_IDLE_TX_TIMEOUT_MS: wholeNumber(0, 2_147_483_647).default(30_000),
  USAGE_COUNTER_SLICES: wholeNumber(1, 256).default(1),
  WEBHOOK_SECRET_KEY: z
    .string()
    .refine((value) => /^[A-Za-z0-9+/]{43}=$/.test(value), 'must be 32 random bytes in base64 (openssl rand -base64 32)')
    .optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  MAIL_RETENTION_DAYS: wholeNumber(0, MAX_RETENTION_DAYS).default(30),
  WEBHOOK_RETENTION_DAYS: wholeNumber(0, MAX_RETENTION_DAYS).default(30),
  // Exactly true or false: a typo must not quietly leave production's private networks reachable, or closed.
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: z.enum(['true', 'false'], { message: 'must be true or false' }).default('false'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type { Config };

export class ConfigError extends Error {}

/** Reads and validates the environment; a bad value throws a message naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" so `FOO= roster start` behaves like leaving FOO out.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration — ${problems.join('; ')}`);
  }
  const values = parsed.data;
  const isProduction = values.NODE_ENV === 'production';
  const stripe = stripeConfig(values);
  if (!stripe && isProduction && values.BILLING !== 'local') {
    throw new ConfigError(
      'Invalid configuration — STRIPE_SECRET_KEY: production needs Stripe billing (set STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and STRIPE_PRICE_TEAM), or set BILLING=local to run the local provider on purpose',
    );
  }
  const publicUrl = (values.PUBLIC_URL ?? `http://localhost:${values.PORT}`).replace(/\/+$/, '');
  return {
    port: values.PORT,
    host: values.HOST,
    dataDir: values.DATA_DIR,
    databaseUrl: values.DATABASE_URL,
    databaseIdleTxTimeoutMs: values.DATABASE_IDLE_TX_TIMEOUT_MS,
    publicUrl,
    smtpUrl: values.SMTP_URL,
    mailFrom: values.MAIL_FROM?.trim() ?? `Roster <no-reply@${new URL(publicUrl).hostname}>`,
    bulkInviteMax: values.BULK_INVITE_MAX,
    inviteTtlSeconds: values.INVITE_TTL_SECONDS,
    stripe,
    allowLocalBillingInProduction: values.BILLING === 'local',
    teamCreditsPerSeat: values.TEAM_CREDITS_PER_SEAT,
    isProduction,
    trustProxy: values.TRUST_PROXY ? values.TRUST_PROXY.split(',').map((part) => part.trim()) : false,
    linkSecret: values.LINK_SECRET,
    logLevel: values.LOG_LEVEL,
    usageCounterSlices: values.USAGE_COUNTER_SLICES,
    webhookSecretKey: values.WEBHOOK_SECRET_KEY ? Buffer.from(values.WEBHOOK_SECRET_KEY, 'base64') : undefined,
    metricsToken: values.METRICS_TOKEN,
    mailRetentionDays: values.MAIL_RETENTION_DAYS,
    webhookRetentionDays: values.WEBHOOK_RETENTION_DAYS,
    webhookAllowPrivateNetworks: values.WEBHOOK_ALLOW_PRIVATE_NETWORKS === 'true',
  };
}

/** Fails closed: with the key set, a missing webhook secret or price stops start-up, named. */
function stripeConfig(values: z.infer<typeof envSchema>): StripeConfig | null {
  const secretKey = values.STRIPE_SECRET_KEY;
  if (!secretKey) {
    const stray = (['STRIPE_WEBHOOK_SECRET', 'STRIPE_PRICE_TEAM'] as const).filter((name) => values[name]);
    if (stray.length > 0) {
      throw new ConfigError(`Invalid configuration — STRIPE_SECRET_KEY: required when ${stray.join(' and ')} is set`);
    }
    return null;
  }
  const webhookSecret = values.STRIPE_WEBHOOK_SECRET;
  const priceTeam = values.STRIPE_PRICE_TEAM;
  if (!webhookSecret || !priceTeam) {
    const missing = [!webhookSecret && 'STRIPE_WEBHOOK_SECRET', !priceTeam && 'STRIPE_PRICE_TEAM'].filter(Boolean);
    throw new ConfigError(
      `Invalid configuration — ${missing.map((name) => `${name}: required when STRIPE_SECRET_KEY is set`).join('; ')}`,
    );
  }
  return { secretKey, webhookSecret, priceTeam, apiBase: values.STRIPE_API_BASE };
}
