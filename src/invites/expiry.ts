import type { FastifyBaseLogger } from 'fastify';
import { recordAudits } from '../audit/record.ts';
import type { Ctx } from '../core/context.ts';
import { startPeriodic, type Periodic } from '../core/periodic.ts';
import { lockOrg } from '../members/access.ts';
import { expiredEntry } from './batch-writes.ts';
import { markExpiriesRecorded, orgsWithUnrecordedExpiries } from './queries.ts';

/** How often each process looks for invitations whose expiry has passed. */
export const EXPIRY_SWEEP_MS = 60 * 1000;

/** Orgs per look, and expiries per org and transaction. */
const ORGS_PER_LOOK = 100;
const EXPIRIES_PER_TRANSACTION = 500;

/**
 * Records every invitation expiry that has passed and is not recorded yet: the audit entry
 * `invite.expired` (actor "system") and its event, in the transaction that marks it recorded
 * (`expiry_recorded_at`). One org at a time under its lock, as every other change of its
 * invitations takes it, so a replacement or a resend in flight is not recorded over. Each expiry
 * is recorded once, also when several processes sweep at once. Answers how many it recorded.
 */
export async function recordInvitationExpiries(ctx: Ctx, options: { signal?: AbortSignal } = {}): Promise<number> {
  const now = ctx.clock.now();
  const system: Ctx = { ...ctx, actor: null };
  let recorded = 0;
  for (;;) {
    const orgIds = await orgsWithUnrecordedExpiries(ctx.db, { now, limit: ORGS_PER_LOOK });
    const before = recorded;
    for (const orgId of orgIds) {
      // A transaction per chunk of the org's expiries, until one comes back short.
      for (let chunk = EXPIRIES_PER_TRANSACTION; chunk === EXPIRIES_PER_TRANSACTION;) {
        if (options.signal?.aborted) return recorded;
        chunk = await ctx.db.transaction(async (tx) => {
          if (!(await lockOrg(tx, orgId))) return 0;
          const expired = await markExpiriesRecorded(tx, { orgId, now, limit: EXPIRIES_PER_TRANSACTION });
          await recordAudits(
            tx,
            system,
            expired.map((invite) => expiredEntry(orgId, invite.id, invite.email)),
          );
          return expired.length;
        });
        recorded += chunk;
      }
    }
    // A look that recorded nothing would find the same orgs again (rows of an org that is gone).
    if (orgIds.length < ORGS_PER_LOOK || recorded === before || options.signal?.aborted) return recorded;
  }
}

/** recordInvitationExpiries now and then every `intervalMs`, in every process (src/background.ts); never throws. */
export function startExpiryRecorder(deps: { ctx: Ctx; logger: FastifyBaseLogger; intervalMs?: number }): Periodic<number> {
  return startPeriodic({
    intervalMs: deps.intervalMs ?? EXPIRY_SWEEP_MS,
    run: async (signal) => {
      try {
        const recorded = await recordInvitationExpiries(deps.ctx, { signal });
        if (recorded > 0) deps.logger.info({ recorded }, 'recorded invitation expiries');
        return recorded;
      } catch (error) {
        deps.logger.warn({ err: error }, 'recording invitation expiries failed; retrying at the next sweep');
        return 0;
      }
    },
    onError: (error) => deps.logger.error({ err: error }, 'recording invitation expiries failed'),
  });
}
