import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { BillingProvider } from './billing-provider.ts';
import type { Config } from './config.ts';
import type { Role } from './domain.ts';
import { AppError } from './errors.ts';

/**
 * The database handle an operation runs on: src/db/client.ts's `Db`, named here without the table
 * schema (src/db sits above core). Services only pass it, or the transaction it opens, to the
 * owning module's queries; the schema-typed relational API (`db.query.*`) is not used.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema generic is the one thing core cannot name; select/insert builders stay typed by their table objects
export type CtxDb = PgDatabase<PgQueryResultHKT, any>;

/** Who is acting: resolved once per request, from the current rows (never cached). */
export interface Actor {
  userId: string;
  email: string;
  name: string;
  emailVerified: boolean;
  /** The org the user belongs to, with the user's current role in it. */
  membership: { orgId: string; slug: string; orgName: string; role: Role } | null;
  via: 'session' | 'api_token' | 'operator';
  credentialId: string | null;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Everything an operation needs besides its input. */
export interface Ctx {
  db: CtxDb;
  config: Config;
  clock: Clock;
  billing: BillingProvider;
  requestId: string;
  actor: Actor | null;
}

export function requireActor(ctx: Ctx): Actor {
  if (!ctx.actor) throw new AppError('unauthenticated', 'Sign in to continue.');
  return ctx.actor;
}
