import { AppError } from '../core/errors.ts';
import { and, asc, eq, gt, isNull, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import { deleteChunk, queryRows, queryRowsPrepared, type Queryable, type StatementPart } from '../db/client.ts';
import { prepareSubjectLookup, type SubjectRow } from './credential-query.ts';
import { apiTokens, emailVerifications, serviceTokens, sessions, users } from '../db/schema.ts';
import type { ServiceScope } from '../core/domain.ts';

// The statements on the tables auth owns: users, sessions, api_tokens, service_tokens,
// email_verifications and rate_limits (login throttling and other sliding-window limits). Other modules call these.

export interface UserRecord {
  id: string;
  email: string;
  emailNormalized: string;
  name: string;
  passwordHash: string;
  emailVerifiedAt: Date | null;
  disabledAt: Date | null;
  createdAt: Date;
}

export interface ApiTokenRecord {
  id: string;
  name: string;
  createdAt: Date;
}

export async function insertUser(
  tx: Queryable,
  input: { email: string; emailNormalized: string; name: string; passwordHash: string; now: Date },
): Promise<UserRecord> {
  const [user] = await tx
    .insert(users)
    .values({
      email: input.email,
      emailNormalized: input.emailNormalized,
      name: input.name,
      passwordHash: input.passwordHash,
      createdAt: input.now,
    })
    .returning();
  if (!user) throw new AppError('internal', 'The user could not be saved.');
  return user;
}

export async function findUserByEmail(db: Queryable, emailNormalized: string): Promise<UserRecord | undefined> {
  const [user] = await db.select().from(users).where(eq(users.emailNormalized, emailNormalized)).limit(1);
  return user;
}

export async function findUserById(db: Queryable, userId: string): Promise<UserRecord | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, userId)).limit(1);
  return user;
}

const subjectStatements = new WeakMap<Queryable, (values: { userId: string }) => Promise<SubjectRow | undefined>>();

/** The user with their org and role, disabled or not (the host app's permission check): one prepared lookup. */
export async function findSubject(db: Queryable, userId: string): Promise<SubjectRow | undefined> {
  let statement = subjectStatements.get(db);
  if (!statement) {
    statement = prepareSubjectLookup(db, 'roster_authz_subject');
    subjectStatements.set(db, statement);
  }
  return statement({ userId });
}

/** A service token's last use is kept to the minute: at most one write a minute per token. */
export const SERVICE_TOKEN_USE_RESOLUTION_MS = 60_000;

/** The time before which a service token's recorded last use is written again (touchServiceToken). */
export function serviceTokenUseSince(now: Date): Date {
  return new Date(now.getTime() - SERVICE_TOKEN_USE_RESOLUTION_MS);
}

/**
 * Records a service token's use at `now` unless a use within SERVICE_TOKEN_USE_RESOLUTION_MS is
 * recorded already (re-checked on the row, so concurrent requests write it once).
 */
export async function touchServiceToken(db: Queryable, input: { id: string; now: Date }): Promise<void> {
  const since = serviceTokenUseSince(input.now);
  await db
    .update(serviceTokens)
    .set({ lastUsedAt: input.now })
    .where(and(eq(serviceTokens.id, input.id), or(isNull(serviceTokens.lastUsedAt), lt(serviceTokens.lastUsedAt, since))));
}

/**
 * touchServiceToken for the service tokens of a usage batch on Citus (`hashes`, their SHA-256),
 * those that authenticate it: unrevoked, with one of `scopes`. PostgreSQL and PGlite do the same in
 * roster_usage_batch (migration 0032).
 */
export async function touchServiceTokens(
  db: Queryable,
  input: { hashes: Buffer[]; scopes: readonly string[]; now: Date },
): Promise<void> {
  const hashes = [...new Set(input.hashes.map((hash) => hash.toString('hex')))].sort();
  await db.execute(
    sql`UPDATE service_tokens SET last_used_at = ${input.now}
        WHERE token_hash = ANY(ARRAY(SELECT decode(h, 'hex') FROM unnest(${sql.param(hashes)}::text[]) h))
          AND revoked_at IS NULL AND scopes && ${sql.param([...input.scopes])}::text[]
          AND (last_used_at IS NULL OR last_used_at < ${serviceTokenUseSince(input.now)})`,
  );
}

/**
 * Serializes one user's concurrent operations (creating an org) until the transaction ends. An
 * advisory lock, not `FOR UPDATE` on users: on Citus that is a reference table, where a row lock is
 * a table-wide lock that can form a distributed deadlock with concurrent writes (docs/citus.md, "Locks").
 */
export async function lockUser(tx: Queryable, userId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`roster.user.${userId}`}))`);
}

/**
 * Locks and returns the account with this address (operator changes to an account): the account's
 * advisory lock (`lockUser`, not `FOR UPDATE` on a reference table), then a fresh read under it.
 */
export async function lockUserByEmail(tx: Queryable, emailNormalized: string): Promise<UserRecord | undefined> {
  const [found] = await tx.select({ id: users.id }).from(users).where(eq(users.emailNormalized, emailNormalized));
  if (!found) return undefined;
  await lockUser(tx, found.id);
  const [user] = await tx.select().from(users).where(eq(users.id, found.id));
  return user;
}

export async function setEmailVerified(tx: Queryable, userId: string, now: Date): Promise<UserRecord | undefined> {
  const [user] = await tx.update(users).set({ emailVerifiedAt: now }).where(eq(users.id, userId)).returning();
  return user;
}

export async function updateUserName(db: Queryable, userId: string, name: string): Promise<UserRecord | undefined> {
  const [user] = await db.update(users).set({ name }).where(eq(users.id, userId)).returning();
  return user;
}

/** What `setDisabled` changed. */
export interface StatusChange {
  /** Whether `disabled_at` changed. */
  changed: boolean;
  /** Sessions and API tokens ended by a disable (both 0 for an enable or no change). */
  sessionsEnded: number;
  apiTokensRevoked: number;
}

/**
 * Disables (a time) or enables (null) an account. Disabling ends every session and deletes every
 * API token, so enabling the account later brings none of them back: the user signs in again and
 * makes new tokens (regression: a re-enabled account's old tokens worked again).
 */
export async function setDisabled(db: Queryable, userId: string, disabledAt: Date | null): Promise<StatusChange> {
  const changed = await queryRows<{ id: string }>(
    db,
    disabledAt
      ? sql`UPDATE users SET disabled_at = ${disabledAt} WHERE id = ${userId} AND disabled_at IS NULL RETURNING id`
      : sql`UPDATE users SET disabled_at = NULL WHERE id = ${userId} AND disabled_at IS NOT NULL RETURNING id`,
  );
  if (!disabledAt) return { changed: changed.length > 0, sessionsEnded: 0, apiTokensRevoked: 0 };
  const ended = await db.delete(sessions).where(eq(sessions.userId, userId)).returning({ id: sessions.id });
  const revoked = await db.delete(apiTokens).where(eq(apiTokens.userId, userId)).returning({ id: apiTokens.id });
  return { changed: changed.length > 0, sessionsEnded: ended.length, apiTokensRevoked: revoked.length };
}

/**
 * For another module's read that needs a user's columns in the same statement:
 * `CROSS JOIN LATERAL ${userColumns(sql`m.user_id`)} u` gives u.id, u.email, u.email_normalized,
 * u.name, u.disabled_at. One index lookup per outer row; LIMIT 1 keeps the planner from
 * flattening it into a hash join over every org's users.
 */
export function userColumns(userId: SQL): SQL {
  return sql`(SELECT id, email, email_normalized, name, disabled_at FROM users WHERE users.id = ${userId} LIMIT 1)`;
}

/** The user's current address as a scalar subquery, for another module's read (an audit entry's target label). */
export function userEmailColumn(userId: SQL): SQL {
  return sql`(SELECT email FROM users WHERE users.id = ${userId})`;
}

/** Ids of the disabled users (few; a partial index holds them), for an `IN (…)` filter in another module's count. */
export function disabledUserIds(): SQL {
  return sql`(SELECT id FROM users WHERE disabled_at IS NOT NULL)`;
}

/**
 * The id of the user with this normalized address (at most one: the unique email index, one probe),
 * for an `IN (…)` filter or an `= (…)` comparison in another module's read. The address is a value
 * or an expression of the caller's statement.
 */
export function userIdsWithEmail(emailNormalized: string | SQL): SQL {
  return sql`(SELECT id FROM users WHERE email_normalized = ${emailNormalized})`;
}

// ---- sessions, email verifications, API tokens ---------------------------------------------

export async function insertSession(
  db: Queryable,
  input: { userId: string; tokenHash: Buffer; now: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insert(sessions)
    .values({ userId: input.userId, tokenHash: input.tokenHash, createdAt: input.now, expiresAt: input.expiresAt });
}

export async function deleteSession(db: Queryable, sessionId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, sessionId));
}

export async function insertEmailVerification(
  tx: Queryable,
  input: { userId: string; tokenHash: Buffer; now: Date; expiresAt: Date; purpose?: 'verify_email' | 'password_reset' },
): Promise<void> {
  await tx.insert(emailVerifications).values({
    userId: input.userId,
    tokenHash: input.tokenHash,
    createdAt: input.now,
    expiresAt: input.expiresAt,
    purpose: input.purpose ?? 'verify_email',
  });
}

/** Guarded: marks an unused, unexpired verification used; returns its user, or undefined. */
export async function useEmailVerification(tx: Queryable, tokenHash: Buffer, now: Date): Promise<{ userId: string } | undefined> {
  return useLink(tx, tokenHash, now, 'verify_email');
}

/** The user of an unused, unexpired password reset link (a read: nothing is marked). */
export async function findPasswordReset(db: Queryable, tokenHash: Buffer, now: Date): Promise<{ userId: string } | undefined> {
  const [reset] = await db
    .select({ userId: emailVerifications.userId })
    .from(emailVerifications)
    .where(liveLink(tokenHash, now, 'password_reset'));
  return reset;
}

/**
 * Guarded: marks an unused, unexpired password reset link used and, with it, every other unused
 * reset link of its user (a reset ends them all); returns its user, or undefined.
 */
export async function usePasswordReset(tx: Queryable, tokenHash: Buffer, now: Date): Promise<{ userId: string } | undefined> {
  const used = await useLink(tx, tokenHash, now, 'password_reset');
  if (!used) return undefined;
  await endResetLinks(tx, used.userId, now);
  return used;
}

/** Every unused password reset link of the user stops working. */
async function endResetLinks(tx: Queryable, userId: string, now: Date): Promise<void> {
  await tx
    .update(emailVerifications)
    .set({ usedAt: now })
    .where(
      and(
        eq(emailVerifications.userId, userId),
        eq(emailVerifications.purpose, 'password_reset'),
        isNull(emailVerifications.usedAt),
      ),
    );
}

/**
 * A signed-in user's new password (`changePassword`), guarded by the hash their current password
 * was checked against: of two changes that both checked the old password, one wins. Every other
 * session of the account ends (`keepSessionId`: the one that asked, if any) and every unused reset
 * link stops working; API tokens stay. Undefined when the password changed in between.
 */
export async function changePasswordHash(
  tx: Queryable,
  input: { userId: string; expectedHash: string; passwordHash: string; keepSessionId: string | null; now: Date },
): Promise<UserRecord | undefined> {
  const [user] = await tx
    .update(users)
    .set({ passwordHash: input.passwordHash })
    .where(and(eq(users.id, input.userId), eq(users.passwordHash, input.expectedHash)))
    .returning();
  if (!user) return undefined;
  await tx
    .delete(sessions)
    .where(and(eq(sessions.userId, input.userId), input.keepSessionId ? ne(sessions.id, input.keepSessionId) : undefined));
  await endResetLinks(tx, input.userId, input.now);
  return user;
}

async function useLink(
  tx: Queryable,
  tokenHash: Buffer,
  now: Date,
  purpose: 'verify_email' | 'password_reset',
): Promise<{ userId: string } | undefined> {
  const [link] = await tx
    .update(emailVerifications)
    .set({ usedAt: now })
    .where(liveLink(tokenHash, now, purpose))
    .returning({ userId: emailVerifications.userId });
  return link;
}

/** The link of this token and purpose while it can still be used: not used yet, not expired. */
function liveLink(tokenHash: Buffer, now: Date, purpose: 'verify_email' | 'password_reset') {
  return and(
    eq(emailVerifications.tokenHash, tokenHash),
    eq(emailVerifications.purpose, purpose),
    isNull(emailVerifications.usedAt),
    gt(emailVerifications.expiresAt, now),
  );
}

/**
 * A new password after a reset: the hash, and the address counts as verified (the reset link
 * reached it). Every session and API token of the account is deleted, so whoever held them (a
 * squatter of the address, a thief of the old password) is signed out. Returns the user.
 */
export async function replacePassword(
  tx: Queryable,
  input: { userId: string; passwordHash: string; now: Date },
): Promise<UserRecord | undefined> {
  const [user] = await tx
    .update(users)
    .set({ passwordHash: input.passwordHash, emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, ${input.now})` })
    .where(eq(users.id, input.userId))
    .returning();
  if (!user) return undefined;
  await tx.delete(sessions).where(eq(sessions.userId, input.userId));
  await tx.delete(apiTokens).where(eq(apiTokens.userId, input.userId));
  return user;
}

/** How many live sessions and API tokens the user has (the operator's `show-user`). */
export async function credentialCounts(
  db: Queryable,
  userId: string,
  now: Date,
): Promise<{ sessions: number; apiTokens: number }> {
  const [row] = await queryRows<{ sessions: number; api_tokens: number }>(
    db,
    sql`SELECT (SELECT count(*)::int FROM sessions WHERE user_id = ${userId} AND expires_at > ${now}) AS sessions,
               (SELECT count(*)::int FROM api_tokens WHERE user_id = ${userId}) AS api_tokens`,
  );
  return { sessions: Number(row?.sessions ?? 0), apiTokens: Number(row?.api_tokens ?? 0) };
}

export async function insertApiToken(
  db: Queryable,
  input: { userId: string; name: string; tokenHash: Buffer; now: Date },
): Promise<ApiTokenRecord> {
  const [row] = await db
    .insert(apiTokens)
    .values({ userId: input.userId, name: input.name, tokenHash: input.tokenHash, createdAt: input.now })
    .returning({ id: apiTokens.id, name: apiTokens.name, createdAt: apiTokens.createdAt });
  if (!row) throw new AppError('internal', 'The user could not be saved.');
  return row;
}

export function listApiTokens(db: Queryable, userId: string): Promise<ApiTokenRecord[]> {
  return db
    .select({ id: apiTokens.id, name: apiTokens.name, createdAt: apiTokens.createdAt })
    .from(apiTokens)
    .where(eq(apiTokens.userId, userId))
    .orderBy(asc(apiTokens.createdAt));
}

/** True when the user's token existed and is gone. */
export async function deleteApiToken(db: Queryable, input: { tokenId: string; userId: string }): Promise<boolean> {
  const deleted = await db
    .delete(apiTokens)
    .where(and(eq(apiTokens.id, input.tokenId), eq(apiTokens.userId, input.userId)))
    .returning({ id: apiTokens.id });
  return deleted.length > 0;
}

// ---- service tokens (global; created, listed and revoked by the operator CLI) ------------------

export interface ServiceTokenRecord {
  id: string;
  name: string;
  scopes: ServiceScope[];
  createdAt: Date;
  revokedAt: Date | null;
  /** When it last authenticated a request (to the minute); null: never. */
  lastUsedAt: Date | null;
}

const serviceTokenColumns = {
  id: serviceTokens.id,
  name: serviceTokens.name,
  scopes: serviceTokens.scopes,
  createdAt: serviceTokens.createdAt,
  revokedAt: serviceTokens.revokedAt,
  lastUsedAt: serviceTokens.lastUsedAt,
};

export async function insertServiceToken(
  db: Queryable,
  input: { name: string; scopes: ServiceScope[]; tokenHash: Buffer; now: Date },
): Promise<ServiceTokenRecord> {
  const [row] = await db
    .insert(serviceTokens)
    .values({ name: input.name, scopes: input.scopes, tokenHash: input.tokenHash, createdAt: input.now })
    .returning(serviceTokenColumns);
  if (!row) throw new AppError('internal', 'The service token could not be saved.');
  return row;
}

export function listServiceTokens(db: Queryable): Promise<ServiceTokenRecord[]> {
  return db.select(serviceTokenColumns).from(serviceTokens).orderBy(asc(serviceTokens.createdAt), asc(serviceTokens.id));
}

/** Revokes the token (kept, for the listing); undefined when no token has this id. */
export async function revokeServiceToken(
  db: Queryable,
  input: { id: string; now: Date },
): Promise<{ record: ServiceTokenRecord; changed: boolean } | undefined> {
  const [revoked] = await db
    .update(serviceTokens)
    .set({ revokedAt: input.now })
    .where(and(eq(serviceTokens.id, input.id), isNull(serviceTokens.revokedAt)))
    .returning(serviceTokenColumns);
  if (revoked) return { record: revoked, changed: true };
  const [existing] = await db.select(serviceTokenColumns).from(serviceTokens).where(eq(serviceTokens.id, input.id));
  return existing ? { record: existing, changed: false } : undefined;
}

// ---- rate limits (sliding windows shared by every process) ---------------------------------

// "At most `limit` in `windowSeconds`" holds over every stretch of that length: each key keeps the
// times of its accepted events still inside the window (rate_limits.times), and an event is
// accepted while fewer than `limit` are kept. A refused attempt is not kept, so asking again while
// refused does not push the end of the wait further out. The statements are prepared (parsed and
// planned once per connection): every invitation request and sign-in runs them.

interface RateWindow {
  windowSeconds: number;
  now: Date;
}

/**
 * Counts one event against `key` if fewer than `limit` happened in the last `windowSeconds`, and
 * says whether it was counted; when not, `retryAfterSeconds` is when the oldest counted event
 * leaves the window. One atomic upsert, so concurrent requests on any number of processes count
 * exactly.
 */
export async function consumeRateLimit(
  db: Queryable,
  input: RateWindow & { key: string; limit: number },
): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const [row] = await queryRowsPrepared<{ count: number; frees_at: Date | string | null }>(
    db,
    'roster_rate_limit_consume_one',
    sql`${countOneMore(keyList([input.key]), input, input.limit)}
        RETURNING count, times[greatest(1, cardinality(times) - ${input.limit} + 1)] AS frees_at`,
  );
  return {
    allowed: Number(row?.count ?? 1) <= input.limit,
    retryAfterSeconds: secondsUntilFree(row?.frees_at, input),
  };
}

/** Each key's events in its window and the seconds until the oldest leaves it (keys without one are absent), one statement. */
export async function rateLimitCounts(
  db: Queryable,
  input: RateWindow & { keys: string[] },
): Promise<Map<string, { count: number; retryAfterSeconds: number }>> {
  if (input.keys.length === 0) return new Map();
  const rows = await queryRowsPrepared<{ key: string; count: number; oldest: Date | string | null }>(
    db,
    'roster_rate_limit_counts',
    sql`SELECT key, cardinality(kept) AS count, kept[1] AS oldest
        FROM (SELECT key, ${kept(input)} AS kept FROM rate_limits WHERE key = ANY(${sql.param(input.keys)}::text[])) AS k
        WHERE cardinality(kept) > 0`,
  );
  return new Map(
    rows.map((row) => [row.key, { count: Number(row.count), retryAfterSeconds: secondsUntilFree(row.oldest, input) }]),
  );
}

/** consumeRateLimit for many keys at once (one event each), set-based; the caller checked the limits before. */
export async function consumeRateLimits(db: Queryable, input: RateWindow & { keys: string[] }): Promise<void> {
  if (input.keys.length > 0)
    await queryRowsPrepared(db, 'roster_rate_limit_consume', countOneMore(keyList(input.keys), input, null));
}

/**
 * consumeRateLimits as a part of a caller's statement, for the keys that `keys` selects (a query
 * with one column, `key`). PostgreSQL and PGlite only: on Citus rate_limits stays on the
 * coordinator, and a statement that also writes distributed tables cannot write it.
 */
export function consumeRateLimitsPart(keys: SQL, window: RateWindow): StatementPart {
  return { ctes: [sql`rate_limits_counted AS (${countOneMore(sql`(${keys}) AS keys`, window, null)})`], results: {} };
}

/**
 * rateLimitCounts for one key, as a column of a caller's statement (`key`: an expression of it):
 * the key's events in its window, oldest first (NULL for a key without a row); rateLimitCountOf
 * reads its length and first element back. PostgreSQL and PGlite only, as consumeRateLimitsPart.
 */
export function rateLimitKeptColumn(key: SQL, window: RateWindow): SQL {
  return sql`(SELECT ${kept(window)} FROM rate_limits WHERE rate_limits.key = ${key})`;
}

/**
 * As rateLimitCounts answers for a key (undefined: no event in the window), from the length and the
 * first element of what rateLimitKeptColumn read.
 */
export function rateLimitCountOf(
  count: number | null | undefined,
  oldest: Date | string | null | undefined,
  window: RateWindow,
): { count: number; retryAfterSeconds: number } | undefined {
  if (!count) return undefined;
  return { count: Number(count), retryAfterSeconds: secondsUntilFree(oldest, window) };
}

function keyList(keys: string[]): SQL {
  return sql`unnest(${sql.param(keys)}::text[]) AS key`;
}

/** One more attempt for each key of `keys` (a FROM item with a column `key`), kept when the key has fewer than `limit` events in its window (null: always). */
function countOneMore(keys: SQL, window: RateWindow, limit: number | null): SQL {
  const inWindow = kept(window);
  const accepted = limit === null ? sql`TRUE` : sql`cardinality(${inWindow}) < ${limit}`;
  return sql`INSERT INTO rate_limits (key, window_start, count, times)
             SELECT key, ${window.now}, 1, ARRAY[${window.now}::timestamptz] FROM ${keys}
             ON CONFLICT (key) DO UPDATE SET
               times = CASE WHEN ${accepted} THEN ${inWindow} || ${window.now}::timestamptz ELSE ${inWindow} END,
               count = cardinality(${inWindow}) + 1,
               window_start = coalesce((${inWindow})[1], ${window.now})`;
}

/** The key's accepted events still inside the window, oldest first. */
function kept(window: RateWindow): SQL {
  return sql`ARRAY(SELECT t FROM unnest(rate_limits.times) AS t
                   WHERE t > ${window.now}::timestamptz - make_interval(secs => ${window.windowSeconds}) ORDER BY t)`;
}

function secondsUntilFree(freesAt: Date | string | null | undefined, window: RateWindow): number {
  if (!freesAt) return 1;
  const end = new Date(freesAt).getTime() + window.windowSeconds * 1000;
  return Math.max(1, Math.ceil((end - window.now.getTime()) / 1000));
}

/** Takes back the latest event counted against `key` (an attempt that turned out not to be a failure); only for one consumeRateLimit allowed. */
export async function refundRateLimit(db: Queryable, key: string): Promise<void> {
  await db.execute(
    sql`UPDATE rate_limits SET times = times[1:cardinality(times) - 1], count = greatest(count - 1, 0)
        WHERE key = ${key} AND cardinality(times) > 0`,
  );
}

export async function clearRateLimit(db: Queryable, key: string): Promise<void> {
  await db.execute(sql`DELETE FROM rate_limits WHERE key = ${key}`);
}

/** Retention (src/retention): deletes up to `limit` sessions that expired before `before`; answers how many. */
export function deleteExpiredSessions(db: Queryable, input: { before: Date; limit: number }): Promise<number> {
  return deleteChunk(db, { table: sql`sessions`, key: sql`id`, where: sql`expires_at < ${input.before}`, limit: input.limit });
}

/** Retention: deletes up to `limit` email verifications, used or not, that expired before `before`. */
export function deleteExpiredEmailVerifications(db: Queryable, input: { before: Date; limit: number }): Promise<number> {
  return deleteChunk(db, {
    table: sql`email_verifications`,
    key: sql`id`,
    where: sql`expires_at < ${input.before}`,
    limit: input.limit,
  });
}

/**
 * Retention: deletes up to `limit` rate-limit keys whose oldest kept event is before `before`. The
 * caller passes a time earlier than now minus the longest window in use: such a key's events were
 * all kept in one window (at its last attempt), which has passed, so none of them counts any more.
 */
export function deleteEndedRateLimits(db: Queryable, input: { before: Date; limit: number }): Promise<number> {
  return deleteChunk(db, {
    table: sql`rate_limits`,
    key: sql`key`,
    where: sql`window_start < ${input.before}`,
    limit: input.limit,
  });
}
