import { randomBytes } from 'node:crypto';
import { recordAuditRows, recordAudits, type AuditEntry } from '../audit/record.ts';
import { consumeRateLimits, consumeRateLimitsPart } from '../auth/queries.ts';
import type { Ctx } from '../core/context.ts';
import { sqlState } from '../core/errors.ts';
import { newRowId } from '../core/ids.ts';
import { runStatementParts, type Tx } from '../db/client.ts';
import { enqueueTemplateMail, templateMail } from '../mail/outbox.ts';
import type { Sealed } from '../mail/sealing.ts';
import { invitationEmail } from '../mail/templates.ts';
import { invitationBatch, invitationsInsert, LOST_TO_PENDING, type InviteRole, type SendsQuery } from './queries.ts';

// What one batch of new invitations writes, once the plan (src/invites/service.ts) has chosen them.

export interface NewInvite {
  id: string;
  email: string;
  normalized: string;
  hash: Buffer;
  nonce: Buffer;
  /** The link as the email carries it, sealed (src/mail/sealing.ts), in text and escaped for HTML. */
  mailLink: Sealed;
  mailHtmlLink: Sealed;
}

/**
 * Writes a batch's invitations, emails, audit entries and events: in one statement (PostgreSQL,
 * PGlite; each row's values sent once, invitationBatch), or in three (Citus; the emails and entries
 * only once every invitation is written). Entries for stale invitations that the plan retired (rare)
 * are written first, by a statement of their own.
 * Returns how many of the invitations were written (fewer: the caller rolls back; on PostgreSQL and
 * PGlite the one statement refuses whole instead, and this answers 0).
 */
export async function writeAll(
  tx: Tx,
  ctx: Ctx,
  batch: {
    org: { id: string; name: string };
    inviter: { userId: string; displayName: string };
    role: InviteRole;
    created: NewInvite[];
    /** Stale invitations of these addresses that the plan retired; `isRecorded`: the sweep recorded the expiry already. */
    expired: { id: string; email: string; isRecorded: boolean }[];
    now: Date;
    expiresAt: Date;
    oneStatement: boolean;
    /** Each invitation's email is counted against the key `keyPrefix` + its address (src/invites/service.ts). */
    sends: SendsQuery;
  },
): Promise<number> {
  const { org, inviter, role, created, now, expiresAt } = batch;
  const expirations = batch.expired
    .filter((invite) => !invite.isRecorded)
    .map((invite) => expiredEntry(org.id, invite.id, invite.email));
  if (created.length === 0) {
    await recordAudits(tx, ctx, expirations); // the expirations, if the plan retired any
    return 0;
  }
  // Every email of the batch is the same but for its link: rendered once, linked per row in SQL.
  const slot = `roster-link-slot-${randomBytes(12).toString('hex')}`;
  const template = {
    kind: 'invitation',
    orgId: org.id,
    slot,
    ...invitationEmail({ orgName: org.name, inviterName: inviter.displayName, role, link: slot, expiresAt }),
  };
  const inserted = { orgId: org.id, role, invitedBy: inviter.userId, now, expiresAt };
  const window = { windowSeconds: batch.sends.windowSeconds, now };
  if (batch.oneStatement) {
    // Rare: the plan retired stale invitations of these addresses; their entries come first.
    await recordAudits(tx, ctx, expirations);
    const rows = invitationBatch({
      orgId: org.id,
      role,
      expiresAt,
      invitations: created.map(({ id, email, normalized, hash, nonce, mailLink, mailHtmlLink }) => ({
        id,
        email,
        normalized,
        tokenHash: hash,
        tokenNonce: nonce,
        link: mailLink,
        htmlLink: mailHtmlLink,
        mailId: newRowId(),
        eventId: newRowId(),
      })),
    });
    let row: Record<string, unknown>;
    try {
      row = await recordAuditRows(
        tx,
        ctx,
        { orgIds: [org.id], entries: rows.entries, events: rows.events },
        {
          name: 'roster_invite_writes',
          // The transaction's last statement: its COMMIT travels with it on PostgreSQL, and it
          // fails whole unless every invitation is written (the caller would read the count too late).
          last: true,
          alongside: [
            rows.part,
            invitationsInsert({ ...inserted, invitations: rows.invitations, expected: created.length }),
            templateMail(template, rows.recipients, now),
            consumeRateLimitsPart(rows.sendsKeys(batch.sends.keyPrefix), window),
          ],
        },
      );
    } catch (error) {
      // The statement refused whole (nothing of it stays): an address went to a pending invitation.
      if (sqlState(error) === LOST_TO_PENDING) return 0;
      throw error;
    }
    return Number(row.invited);
  }
  const invitations = invitationsInsert({
    ...inserted,
    invitations: created.map(({ id, email, normalized, hash, nonce }) => ({
      id,
      email,
      normalized,
      tokenHash: hash,
      tokenNonce: nonce,
    })),
  });
  const invited = Number((await runStatementParts(tx, 'roster_invites_insert', [invitations])).invited);
  if (invited !== created.length) return invited;
  const recipients = created.map((invite) => ({ to: invite.email, value: invite.mailLink, htmlValue: invite.mailHtmlLink }));
  await enqueueTemplateMail(tx, template, recipients, now);
  await recordAudits(tx, ctx, [
    ...expirations,
    ...created.map((invite): AuditEntry => ({
      orgId: org.id,
      action: 'invite.sent',
      targetType: 'invitation',
      targetId: invite.id,
      after: { email: invite.email, role, expires_at: expiresAt.toISOString() },
    })),
  ]);
  await consumeRateLimits(tx, { keys: created.map((invite) => batch.sends.keyPrefix + invite.normalized), ...window });
  return invited;
}

export function expiredEntry(orgId: string, id: string, email: string): AuditEntry {
  return {
    orgId,
    action: 'invite.expired',
    targetType: 'invitation',
    targetId: id,
    before: { email, status: 'pending' },
    after: { status: 'expired' },
  };
}
