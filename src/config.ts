import type { Config } from './core/config.ts';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalUrl = z.string().url().optional();

const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  PUBLIC_URL: optionalUrl,
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).optional(),
  BULK_INVITE_MAX: positiveInt.default(100),
  INVITE_TTL_SECONDS: positiveInt.default(604800),
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  NODE_ENV: z.string().optional(),
  TRUST_PROXY: z.string().optional(),
  LINK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  DATABASE_IDLE_TX_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  USAGE_COUNTER_SLICES: z.coerce.number().int().min(1).max(256).default(16),
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
  const publicUrl = (values.PUBLIC_URL ?? `http://localhost:${values.PORT}`).replace(/\/+$/, '');
  return {
    port: values.PORT,
    host: values.HOST,
    dataDir: values.DATA_DIR,
    databaseUrl: values.DATABASE_URL,
    databaseIdleTxTimeoutMs: values.DATABASE_IDLE_TX_TIMEOUT_MS,
    publicUrl,
    smtpUrl: values.SMTP_URL,
    mailFrom: values.MAIL_FROM ?? `Roster <no-reply@${new URL(publicUrl).hostname}>`,
    bulkInviteMax: values.BULK_INVITE_MAX,
    inviteTtlSeconds: values.INVITE_TTL_SECONDS,
    stripeSecretKey: values.STRIPE_SECRET_KEY,
    stripeWebhookSecret: values.STRIPE_WEBHOOK_SECRET,
    isProduction: values.NODE_ENV === 'production',
    trustProxy: values.TRUST_PROXY ? values.TRUST_PROXY.split(',').map((part) => part.trim()) : false,
    linkSecret: values.LINK_SECRET,
    logLevel: values.LOG_LEVEL,
    usageCounterSlices: values.USAGE_COUNTER_SLICES,
  };
}
