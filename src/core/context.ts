import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { BillingProvider } from './billing-provider.ts';
import type { Config } from './config.ts';
import type { Role, ServiceScope } from './domain.ts';
import { AppError } from './errors.ts';

/**
 * The database handle an operation runs on: src/db/client.ts's `Db`, named here without the table
 * schema (src/db sits above core). Services only pass it, or the transaction it opens, to the
 * owning module's queries; the schema-typed relational API (`db.query.*`) is not used.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema generic is the one thing core cannot name; select/insert builders stay typed by their table objects
export type CtxDb = PgDatabase<PgQueryResultHKT, any>;

/** A user acting (session, API token) or the operator CLI: resolved once per request, from the current rows (never cached). */
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

/**
 * The host app's backend, authenticated by a service token (`rs_svc_…`): no user and no org. It may
 * do only what its scopes name (decided by src/auth/permissions.ts, like every other permission).
 */
export interface ServiceActor {
  via: 'service_token';
  credentialId: string;
  scopes: readonly ServiceScope[];
}

/** Whoever presented a valid credential: a user (or the operator) or a service token. */
export type Caller = Actor | ServiceActor;

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
  actor: Caller | null;
  /**
   * The user a service token's request asks about (GET /authz/check's `user_id`), read in the
   * statement that authenticated the token, during this request: `row` undefined when no user has
   * the id. Never carried from one request to another.
   */
  prefetchedSubject?: { userId: string; row: SubjectState | undefined };
}

/** A user as the policy sees them: disabled or not, and their org and role. */
export interface SubjectState {
  user_id: string;
  disabled: boolean;
  org_id: string | null;
  role: Role | null;
}

/** The caller, whoever they are (a service token included); 401 without one. */
export function requireCaller(ctx: Ctx): Caller {
  if (!ctx.actor) throw new AppError('unauthenticated', 'Sign in to continue.');
  return ctx.actor;
}

/**
 * A user (or the operator): the operations that act as a person. A service token is refused with
 * 403 forbidden, as the policy refuses it every action its scopes do not name.
 */
export function requireActor(ctx: Ctx): Actor {
  const caller = requireCaller(ctx);
  if (caller.via === 'service_token') throw serviceTokenRefused();
  return caller;
}

export function serviceTokenRefused(): AppError {
  return new AppError('forbidden', "This service token's scopes do not allow this.");
}

/** The acting user for presenting a reply (member permissions); null for none or a service token. */
export function userActorOf(ctx: Ctx): Actor | null {
  return ctx.actor && ctx.actor.via !== 'service_token' ? ctx.actor : null;
}
