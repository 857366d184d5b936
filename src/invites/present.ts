import { presentOrg } from '../orgs/present.ts';
import type { Acceptance, PublicInvitation } from './accept.ts';
import type { BulkOutcome, InvitationView } from './service.ts';

export function presentInvite(invite: InvitationView) {
  return {
    id: invite.id,
    email: invite.email,
    role: invite.role,
    status: invite.status,
    created_at: invite.createdAt.toISOString(),
    expires_at: invite.expiresAt.toISOString(),
    link: invite.link,
    invited_by: { user_id: invite.invitedBy.userId, name: invite.invitedBy.name, email: invite.invitedBy.email },
  };
}

export function presentBulk(outcome: BulkOutcome) {
  return {
    results: outcome.results.map((result) =>
      result.ok
        ? { email: result.email, ok: true as const, invite_id: result.inviteId }
        : { email: result.email, ok: false as const, error: result.error },
    ),
    invited: outcome.invited,
    failed: outcome.failed,
  };
}

export function presentPublicInvite(invite: PublicInvitation) {
  return {
    org: { name: invite.orgName },
    inviter: invite.inviterName === null ? null : { name: invite.inviterName },
    email: invite.email,
    role: invite.role,
    status: invite.status,
  };
}

export function presentAcceptance(acceptance: Acceptance) {
  return { org: presentOrg(acceptance.org), role: acceptance.role };
}
