import { cleanName } from '../core/text.ts';
import type { Ctx } from '../core/context.ts';
import { requireActor } from '../core/context.ts';
import { normalizeEmail, parseEmail } from '../core/email.ts';
import { isUuid } from '../core/ids.ts';
import { AppError, isUniqueViolation } from '../core/errors.ts';
import { assertStrongPassword, hashPassword, verifyAgainstDummy, verifyPassword } from '../core/passwords.ts';
import { newToken, hashToken, tokenKindOf } from '../core/tokens.ts';
import type { Queryable, Tx } from '../db/client.ts';
import { enqueueMail } from '../mail/outbox.ts';
import { mailSealer, messageWithoutSecrets, type MailSealer } from '../mail/sealing.ts';
import { passwordChangedEmail, passwordResetEmail, verificationEmail } from '../mail/templates.ts';
import {
  changePasswordHash,
  clearRateLimit,
  consumeRateLimit,
  credentialCounts,
  rateLimitCounts,
  deleteApiToken as deleteApiTokenRow,
  deleteSession,
  findPasswordReset,
  findUserByEmail,
  findUserById,
  insertApiToken,
  insertEmailVerification,
  insertSession,
  insertUser,
  lockUser,
  refundRateLimit,
  replacePassword,
  usePasswordReset,
  listApiTokens as listApiTokenRows,
  setEmailVerified,
  updateUserName,
  useEmailVerification,
  type ApiTokenRecord,
  type UserRecord,
} from './queries.ts';

export const SESSION_TTL_SECONDS = 30 * 24 * 3600;
const VERIFICATION_TTL_SECONDS = 7 * 24 * 3600;
const RESET_TTL_SECONDS = 3600;

/** The single-use links Roster emails: the token's kind, how long a link works, the dashboard page it opens. */
const EMAIL_LINKS = {
  verify_email: { kind: 'verify', ttlSeconds: VERIFICATION_TTL_SECONDS, path: '/verify-email' },
  password_reset: { kind: 'reset', ttlSeconds: RESET_TTL_SECONDS, path: '/reset-password' },
} as const;
const RESETS_PER_HOUR = 3;
export const LOGIN_WINDOW_SECONDS = 15 * 60;
const LOGIN_FAILURES_PER_ACCOUNT = 10;
const LOGIN_FAILURES_PER_ADDRESS = 50;

export interface UserView {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
}

export interface SessionGrant {
  user: UserView;
  token: string;
  expiresAt: Date;
}

/** A step of another module that runs in the signup's transaction (joining by invitation). */
export type AfterSignup = (tx: Tx, user: { userId: string; emailNormalized: string }) => Promise<void>;

/**
 * Creates the account, queues the verification email and opens a session, in one transaction.
 * `afterSignup` runs in that transaction once the user exists (src/invites/signup.ts accepts an
 * invitation there), so a failed step leaves no account behind.
 */
export async function signup(
  ctx: Ctx,
  input: { email: string; password: string; name: string },
  afterSignup?: AfterSignup,
): Promise<SessionGrant> {
  const { email, normalized } = normalizeEmail(input.email);
  const name = cleanName(input.name);
  if (!name) throw new AppError('invalid_name', 'Enter your name, on one line.');
  assertStrongPassword(input.password, { email: normalized, name });
  // Hash before the transaction opens: argon2 is slow and must not hold locks.
  const passwordHash = await hashPassword(input.password);
  const sealer = await mailSealer(ctx.config, ctx.db);
  const now = ctx.clock.now();
  try {
    const grant = await ctx.db.transaction(async (tx) => {
      const user = await insertUser(tx, { email, emailNormalized: normalized, name, passwordHash, now });
      await sendVerification(tx, ctx, sealer, { userId: user.id, email, name });
      if (afterSignup) await afterSignup(tx, { userId: user.id, emailNormalized: normalized });
      const session = await createSession(tx, user.id, now);
      return { user: presentUser(user), ...session };
    });
    return grant;
  } catch (error) {
    if (isUniqueViolation(error, 'users_email_normalized_key')) {
      throw new AppError('email_taken', 'An account with this email already exists. Log in instead.');
    }
    throw error;
  }
}

export async function login(ctx: Ctx, input: { email: string; password: string; clientAddress: string }): Promise<SessionGrant> {
  const now = ctx.clock.now();
  const parsed = parseEmail(input.email);
  const accountKey = `login:account:${parsed?.normalized ?? input.email.trim().toLowerCase()}`;
  const addressKey = `login:address:${input.clientAddress}`;
  const window = { windowSeconds: LOGIN_WINDOW_SECONDS, now };
  // Each attempt is counted before its password is checked, so concurrent guesses cannot all pass
  // the limit before the first failure is recorded: at most the limit's number of checks a window.
  // An attempt that is refused unchecked, or that succeeds, is not a failure: where it was counted
  // (a refused count keeps nothing), it is taken back.
  const account = await consumeRateLimit(ctx.db, { key: accountKey, limit: LOGIN_FAILURES_PER_ACCOUNT, ...window });
  const address = await consumeRateLimit(ctx.db, { key: addressKey, limit: LOGIN_FAILURES_PER_ADDRESS, ...window });
  if (!account.allowed || !address.allowed) {
    if (account.allowed) await refundRateLimit(ctx.db, accountKey);
    if (address.allowed) await refundRateLimit(ctx.db, addressKey);
    const refused = [account, address].filter((limit) => !limit.allowed);
    throw new AppError('rate_limited', 'Too many failed sign-in attempts. Wait and try again.', {
      retry_after_seconds: Math.max(...refused.map((limit) => limit.retryAfterSeconds)),
    });
  }
  const user = parsed ? await findUserByEmail(ctx.db, parsed.normalized) : undefined;
  // Unknown emails verify against a dummy hash, so both refusals take the same time.
  const passwordMatches = user
    ? await verifyPassword(user.passwordHash, input.password)
    : await verifyAgainstDummy(input.password);
  if (!user || !passwordMatches) {
    throw new AppError('invalid_credentials', 'That email and password do not match an account.');
  }
  await clearRateLimit(ctx.db, accountKey);
  await refundRateLimit(ctx.db, addressKey);
  // Only after the password is right, so a disabled account is not revealed to guessers.
  if (user.disabledAt) {
    throw new AppError('user_disabled', 'This account has been disabled. Contact your organization administrator.');
  }
  const session = await createSession(ctx.db, user.id, now);
  return { user: presentUser(user), ...session };
}

export async function logout(ctx: Ctx): Promise<void> {
  const actor = requireActor(ctx);
  if (actor.via === 'session' && actor.credentialId) {
    await deleteSession(ctx.db, actor.credentialId);
  }
}

export async function verifyEmail(ctx: Ctx, input: { token: string }): Promise<UserView> {
  const invalid = new AppError('invalid_token', 'This verification link is invalid or has expired. Ask for a new one.');
  if (tokenKindOf(input.token) !== 'verify') throw invalid;
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const verification = await useEmailVerification(tx, hashToken(input.token), now);
    if (!verification) throw invalid;
    const user = await setEmailVerified(tx, verification.userId, now);
    if (!user) throw invalid;
    return presentUser(user);
  });
}

export async function updateProfile(ctx: Ctx, input: { name: string }): Promise<UserView> {
  const actor = requireActor(ctx);
  const name = cleanName(input.name);
  if (!name) throw new AppError('invalid_name', 'Enter your name, on one line.');
  const user = await updateUserName(ctx.db, actor.userId, name);
  if (!user) throw new AppError('unauthenticated', 'Sign in to continue.');
  return presentUser(user);
}

export async function createApiToken(ctx: Ctx, input: { name: string }): Promise<ApiTokenRecord & { token: string }> {
  const actor = requireActor(ctx);
  const name = cleanName(input.name);
  if (!name) throw new AppError('invalid_name', 'Name the token with 1 to 100 characters, on one line.');
  const { token, hash } = newToken('api');
  const row = await insertApiToken(ctx.db, {
    userId: actor.userId,
    name,
    tokenHash: hash,
    now: ctx.clock.now(),
  });
  return { ...row, token };
}

export async function listApiTokens(ctx: Ctx): Promise<ApiTokenRecord[]> {
  const actor = requireActor(ctx);
  return listApiTokenRows(ctx.db, actor.userId);
}

export async function deleteApiToken(ctx: Ctx, input: { tokenId: string }): Promise<void> {
  const actor = requireActor(ctx);
  if (!isUuid(input.tokenId)) throw new AppError('token_not_found', 'No API token with this id exists.');
  const deleted = await deleteApiTokenRow(ctx.db, { tokenId: input.tokenId, userId: actor.userId });
  if (!deleted) throw new AppError('token_not_found', 'No API token with this id exists.');
}

/** Sends of verification emails one account may ask for in an hour (besides the one at signup). */
const VERIFICATION_RESENDS_PER_HOUR = 3;

/**
 * A new verification email for the signed-in user, whose link expired or went missing: the only way
 * to verify an address that the first email did not. Limited per account, so no mailbox can be
 * flooded through Roster; refused once the address is verified.
 */
export async function resendVerification(ctx: Ctx): Promise<{ email: string }> {
  const actor = requireActor(ctx);
  if (actor.emailVerified) {
    throw new AppError('email_already_verified', `${actor.email} is already confirmed: there is nothing to do.`);
  }
  const sealer = await mailSealer(ctx.config, ctx.db);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    // Counted inside the transaction: only emails that are queued count.
    const rate = await consumeRateLimit(tx, {
      key: `verify.resend:${actor.userId}`,
      limit: VERIFICATION_RESENDS_PER_HOUR,
      windowSeconds: 3600,
      now,
    });
    if (!rate.allowed) {
      throw new AppError(
        'rate_limited',
        `A confirmation email was sent ${VERIFICATION_RESENDS_PER_HOUR} times in the last hour. Check your inbox and spam folder, or wait.`,
        { retry_after_seconds: rate.retryAfterSeconds },
      );
    }
    await sendVerification(tx, ctx, sealer, { userId: actor.userId, email: actor.email, name: actor.name });
    return { email: actor.email };
  });
}

/**
 * `POST /auth/password-reset`: emails the account of this address a link that sets a new password.
 * The caller learns nothing (202 whatever happens): no account, a disabled one, or the limit of
 * RESETS_PER_HOUR reached all send nothing, silently, so the route tells no one which addresses
 * have accounts. Counted inside the transaction: only queued emails count.
 */
export async function requestPasswordReset(ctx: Ctx, input: { email: string }): Promise<void> {
  const parsed = parseEmail(input.email);
  if (!parsed) throw new AppError('invalid_email', 'Enter a valid email address.');
  const sealer = await mailSealer(ctx.config, ctx.db);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const user = await findUserByEmail(tx, parsed.normalized);
    if (!user || user.disabledAt) return;
    const rate = await consumeRateLimit(tx, {
      key: `password.reset:${user.id}`,
      limit: RESETS_PER_HOUR,
      windowSeconds: 3600,
      now,
    });
    if (!rate.allowed) return;
    const link = await issueEmailLink(tx, ctx, { userId: user.id, purpose: 'password_reset', now });
    await enqueueMail(
      tx,
      [{ kind: 'password_reset', to: user.email, ...sealer.message(passwordResetEmail({ name: user.name, link })) }],
      now,
    );
  });
}

/**
 * `POST /auth/password-reset/confirm`: the new password, and a session, for the holder of a reset
 * link. The link is used once (and every other one of the account with it); every other session
 * and API token of the account is revoked, and the address counts as verified. A disabled account
 * stays disabled (403 user_disabled; the link stays unused).
 */
export async function resetPassword(ctx: Ctx, input: { token: string; password: string }): Promise<SessionGrant> {
  const invalid = new AppError('invalid_token', 'This reset link is invalid or has expired. Ask for a new one.');
  if (tokenKindOf(input.token) !== 'reset') throw invalid;
  const tokenHash = hashToken(input.token);
  const reset = await findPasswordReset(ctx.db, tokenHash, ctx.clock.now());
  const user = reset ? await findUserById(ctx.db, reset.userId) : undefined;
  if (!user) throw invalid;
  if (user.disabledAt) {
    throw new AppError('user_disabled', 'This account has been disabled. Contact your organization administrator.');
  }
  assertStrongPassword(input.password, { email: user.emailNormalized, name: user.name });
  // Hash before the transaction opens: argon2 is slow and must not hold locks.
  const passwordHash = await hashPassword(input.password);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    // The account first: confirmations of two of its links then run one after the other (each
    // also ends the other links), and of two confirmations of one link one wins, the other is invalid.
    await lockUser(tx, user.id);
    const used = await usePasswordReset(tx, tokenHash, now);
    if (!used) throw invalid;
    const updated = await replacePassword(tx, { userId: used.userId, passwordHash, now });
    if (!updated) throw invalid;
    const session = await createSession(tx, updated.id, now);
    return { user: presentUser(updated), ...session };
  });
}

/** What support sees of an account's sign-in (`roster admin show-user`): live credentials and failed sign-ins now. */
export interface SignInState {
  sessions: number;
  apiTokens: number;
  /** Failed sign-ins in the current window, of the limit after which login answers 429. */
  failedSignIns: { count: number; limit: number; retryAfterSeconds: number };
}

export async function signInState(ctx: Ctx, user: { id: string; emailNormalized: string }): Promise<SignInState> {
  const now = ctx.clock.now();
  const key = `login:account:${user.emailNormalized}`;
  const [credentials, counts] = await Promise.all([
    credentialCounts(ctx.db, user.id, now),
    rateLimitCounts(ctx.db, { keys: [key], windowSeconds: LOGIN_WINDOW_SECONDS, now }),
  ]);
  const failures = counts.get(key);
  return {
    ...credentials,
    failedSignIns: {
      count: failures?.count ?? 0,
      limit: LOGIN_FAILURES_PER_ACCOUNT,
      retryAfterSeconds: failures && failures.count >= LOGIN_FAILURES_PER_ACCOUNT ? failures.retryAfterSeconds : 0,
    },
  };
}

/** Wrong current passwords one account may send to `changePassword` in LOGIN_WINDOW_SECONDS, as for login. */
const PASSWORD_CHANGE_FAILURES = LOGIN_FAILURES_PER_ACCOUNT;

/**
 * `POST /auth/password`: a signed-in user sets a new password by giving the current one. The
 * session that asked stays signed in; every other session of the account ends, and every reset
 * link stops working (API tokens stay: the account page lists them). A notice goes to the
 * account's address, with the way back if it was not them. Wrong current passwords are counted
 * per account like failed sign-ins (429 rate_limited past the limit), so a stolen session cannot
 * guess the password faster than the sign-in page allows.
 */
export async function changePassword(ctx: Ctx, input: { currentPassword: string; newPassword: string }): Promise<UserView> {
  const actor = requireActor(ctx);
  const now = ctx.clock.now();
  const key = `password.change:${actor.userId}`;
  const user = await findUserById(ctx.db, actor.userId);
  if (!user) throw new AppError('unauthenticated', 'Sign in to continue.');
  assertStrongPassword(input.newPassword, { email: user.emailNormalized, name: user.name });
  // Counted before the check, as login counts: concurrent guesses cannot all pass the limit.
  const rate = await consumeRateLimit(ctx.db, { key, limit: PASSWORD_CHANGE_FAILURES, windowSeconds: LOGIN_WINDOW_SECONDS, now });
  if (!rate.allowed) {
    throw new AppError('rate_limited', 'Too many wrong passwords. Wait and try again, or reset your password.', {
      retry_after_seconds: rate.retryAfterSeconds,
    });
  }
  const wrong = new AppError('wrong_password', 'Your current password is not right. Nothing was changed.');
  if (!(await verifyPassword(user.passwordHash, input.currentPassword))) throw wrong;
  await clearRateLimit(ctx.db, key);
  // Hash before the transaction opens: argon2 is slow and must not hold locks.
  const passwordHash = await hashPassword(input.newPassword);
  return ctx.db.transaction(async (tx) => {
    const updated = await changePasswordHash(tx, {
      userId: user.id,
      expectedHash: user.passwordHash,
      passwordHash,
      keepSessionId: actor.via === 'session' ? actor.credentialId : null,
      now,
    });
    // The password changed since it was checked (another change won): this one was made against an old password.
    if (!updated) throw wrong;
    const notice = messageWithoutSecrets(
      passwordChangedEmail({ name: updated.name, resetUrl: `${ctx.config.publicUrl}/forgot-password` }),
    );
    await enqueueMail(tx, [{ kind: 'password_changed', to: updated.email, ...notice }], now);
    return presentUser(updated);
  });
}

/** A new single-use link of `purpose` for the user: its token's hash is stored, its URL returned for the email. */
async function issueEmailLink(
  tx: Tx,
  ctx: Ctx,
  input: { userId: string; purpose: keyof typeof EMAIL_LINKS; now: Date },
): Promise<string> {
  const spec = EMAIL_LINKS[input.purpose];
  const { token, hash } = newToken(spec.kind);
  await insertEmailVerification(tx, {
    userId: input.userId,
    tokenHash: hash,
    now: input.now,
    expiresAt: new Date(input.now.getTime() + spec.ttlSeconds * 1000),
    purpose: input.purpose,
  });
  return `${ctx.config.publicUrl}${spec.path}?token=${encodeURIComponent(token)}`;
}

async function createSession(db: Queryable, userId: string, now: Date) {
  const { token, hash } = newToken('session');
  const expiresAt = new Date(now.getTime() + SESSION_TTL_SECONDS * 1000);
  await insertSession(db, { userId, tokenHash: hash, now, expiresAt });
  return { token, expiresAt };
}

async function sendVerification(tx: Tx, ctx: Ctx, sealer: MailSealer, input: { userId: string; email: string; name: string }) {
  const now = ctx.clock.now();
  const link = await issueEmailLink(tx, ctx, { userId: input.userId, purpose: 'verify_email', now });
  await enqueueMail(
    tx,
    [{ kind: 'verify_email', to: input.email, ...sealer.message(verificationEmail({ name: input.name, link })) }],
    now,
  );
}

function presentUser(user: UserRecord): UserView {
  return { id: user.id, email: user.email, name: user.name, emailVerified: user.emailVerifiedAt !== null };
}
