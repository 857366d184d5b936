import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Role } from '../db/schema.ts';
import type { BillingProvider } from '../billing/provider.ts';
import { AppError } from './errors.ts';

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
  db: Db;
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
