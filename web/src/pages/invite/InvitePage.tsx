import { useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Building2, Clock, MailX, UserRoundCheck } from 'lucide-react';
import * as api from '../../api/client';
import { queryKeys, useMe, usePublicInvite } from '../../api/queries';
import { ApiError, errorMessage } from '../../api/errors';
import type { MeResponse, OrgResponse, PublicInvite } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert, LoadingBlock } from '../../components/Feedback';
import { periodAfter, roleLabel } from '../../lib/format';
import { LinkOutcome } from '../auth/LinkOutcome';
import { AuthLayout } from '../auth/AuthLayout';

export const EXPIRED_MESSAGE = 'This invitation has expired — ask your admin to resend it';

function sameEmail(a: string, b: string) {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

export function InvitePage() {
  const { token = '' } = useParams();
  const invite = usePublicInvite(token);
  const me = useMe();

  if (invite.isPending || me.isPending) {
    return (
      <AuthLayout title="Opening your invitation">
        <LoadingBlock label="Checking the invitation…" />
      </AuthLayout>
    );
  }
  if (invite.isError) {
    const isUnknown = invite.error instanceof ApiError && invite.error.status === 404;
    return (
      <InvitationProblem
        icon={<MailX className="size-6" aria-hidden />}
        title={isUnknown ? 'This invitation link is not valid' : 'This invitation could not be opened'}
        message={
          isUnknown
            ? 'This invitation does not exist or has been revoked. If you were sent a newer invitation, use the link in that email, or ask your admin to invite you again.'
            : errorMessage(invite.error)
        }
      />
    );
  }
  const details = invite.data;
  if (details.status === 'expired') {
    return (
      <InvitationProblem icon={<Clock className="size-6" aria-hidden />} title="Invitation expired" message={EXPIRED_MESSAGE} />
    );
  }
  if (details.status === 'revoked') {
    return (
      <InvitationProblem
        icon={<MailX className="size-6" aria-hidden />}
        title="Invitation revoked"
        message={`This invitation has been revoked by ${details.org.name}${periodAfter(details.org.name)} Ask your admin for a new invitation if you still need access.`}
      />
    );
  }
  if (details.status === 'accepted') {
    return (
      <InvitationProblem
        icon={<UserRoundCheck className="size-6" aria-hidden />}
        title="Invitation already accepted"
        message={
          me.data
            ? `This invitation to ${details.org.name} has already been used.`
            : `This invitation to ${details.org.name} has already been used. Log in to continue.`
        }
        action={
          me.data ? (
            <Link to="/" className="font-medium text-brand-700 hover:underline">
              Go to the dashboard
            </Link>
          ) : (
            <Link to="/login" className="font-medium text-brand-700 hover:underline">
              Log in
            </Link>
          )
        }
      />
    );
  }
  const signedInEmail = me.data?.user.email;
  if (signedInEmail && sameEmail(signedInEmail, details.email)) {
    // One organization per account: accepting would answer 409 already_in_org, so say so before any click.
    const currentOrg = me.data?.org;
    if (currentOrg) return <AlreadyInOrgInvitation invite={details} currentOrg={currentOrg} />;
    return <JoinInvitation token={token} invite={details} />;
  }
  return <InvitationWelcome token={token} invite={details} signedInEmail={signedInEmail} />;
}

function InvitationHeader({ invite }: { invite: PublicInvite }) {
  return (
    <div className="mb-6 flex items-center gap-3 rounded-xl bg-zinc-50 p-4 ring-1 ring-zinc-200">
      <span className="rounded-lg bg-brand-600 p-2.5 text-white">
        <Building2 className="size-5" aria-hidden />
      </span>
      <div className="min-w-0 text-sm">
        <p className="truncate font-semibold text-zinc-900">{invite.org.name}</p>
        <p className="text-zinc-500">
          {invite.inviter ? (
            <>
              Invited by <span className="font-medium text-zinc-700">{invite.inviter.name}</span> as{' '}
            </>
          ) : (
            'Invited as '
          )}
          {roleLabel(invite.role).toLowerCase()}
        </p>
      </div>
    </div>
  );
}

/** The invitation's page: who invited which address to which org, then `children` (the next step). */
function InvitationLayout({ invite, children }: { invite: PublicInvite; children: ReactNode }) {
  return (
    <AuthLayout
      title={`Join ${invite.org.name} on Roster`}
      subtitle={
        <>
          {invite.inviter?.name ?? 'An administrator'} invited <span className="font-medium text-zinc-700">{invite.email}</span>{' '}
          to join {invite.org.name}
          {periodAfter(invite.org.name)}
        </>
      }
    >
      <InvitationHeader invite={invite} />
      {children}
    </AuthLayout>
  );
}

function InvitationWelcome({
  token,
  invite,
  signedInEmail,
}: {
  token: string;
  invite: PublicInvite;
  signedInEmail: string | undefined;
}) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [isLoggingOut, setLoggingOut] = useState(false);
  const invitePath = `/invite/${token}`;

  async function switchAccount() {
    setLoggingOut(true);
    try {
      await api.logout();
    } catch {
      // Signing out locally is enough to continue.
    }
    queryClient.clear();
    setLoggingOut(false);
    void navigate(`/login?next=${encodeURIComponent(invitePath)}&email=${encodeURIComponent(invite.email)}`);
  }

  return (
    <InvitationLayout invite={invite}>
      {signedInEmail ? (
        <div className="space-y-4">
          <Alert tone="warning" title="This invitation is for another account">
            You are signed in as {signedInEmail}, but the invitation was sent to {invite.email}. Log out and continue with the
            invited address.
          </Alert>
          <Button className="w-full" onClick={switchAccount} isLoading={isLoggingOut}>
            Log out and switch account
          </Button>
        </div>
      ) : (
        <div className="space-y-3">
          <Link
            to={`/signup?invite=${encodeURIComponent(token)}`}
            className="flex h-10 w-full items-center justify-center rounded-lg bg-brand-600 px-4 text-sm font-medium text-white shadow-sm hover:bg-brand-700"
          >
            Sign up to accept
          </Link>
          <Link
            to={`/login?next=${encodeURIComponent(invitePath)}&email=${encodeURIComponent(invite.email)}`}
            className="flex h-10 w-full items-center justify-center rounded-lg bg-white px-4 text-sm font-medium text-zinc-800 shadow-sm ring-1 ring-zinc-300 ring-inset hover:bg-zinc-50"
          >
            Log in to accept
          </Link>
          <p className="pt-1 text-center text-xs text-zinc-500">Use the address the invitation was sent to: {invite.email}</p>
        </div>
      )}
    </InvitationLayout>
  );
}

/**
 * The invited address is signed in: show the invitation and join only when they click
 * ("opening an invitation link never accepts it" — the link may be opened by a mail scanner).
 */
function JoinInvitation({ token, invite }: { token: string; invite: PublicInvite }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useMe();
  const accept = useMutation({
    mutationFn: () => api.acceptInvite(token),
    meta: { inlineErrors: true },
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      await queryClient.fetchQuery({ queryKey: queryKeys.me, queryFn: api.getMe });
      void navigate('/settings/members', { replace: true });
    },
  });

  if (accept.isError) {
    // Owners cannot leave an org (only after handing it over), so they get a different next step.
    const canLeave = me.data?.org?.permissions.includes('leave_org') ?? true;
    return (
      <InvitationProblem
        icon={<MailX className="size-6" aria-hidden />}
        title="The invitation could not be accepted"
        message={acceptProblem(accept.error, invite, canLeave)}
        action={
          <Link to="/" className="font-medium text-brand-700 hover:underline">
            Go to the dashboard
          </Link>
        }
      />
    );
  }
  return (
    <InvitationLayout invite={invite}>
      <Button className="w-full" onClick={() => accept.mutate()} isLoading={accept.isPending}>
        Join {invite.org.name}
      </Button>
    </InvitationLayout>
  );
}

type CurrentOrg = NonNullable<NonNullable<MeResponse>['org']>;

/**
 * The caller's org with its first members, asked only for an owner: whether anyone could take the
 * org over decides the advice (the same cache entry as useOrg()).
 */
function useOwnedOrg(isOwner: boolean) {
  return useQuery<OrgResponse>({ queryKey: queryKeys.org, queryFn: api.getOrg, enabled: isOwner });
}

/** Whether the owner has someone to hand the org to: the server marks such members with `transfer_ownership`. */
function hasSuccessor(org: OrgResponse | undefined): boolean | null {
  if (!org?.org) return null;
  if (org.members_next_cursor !== null) return true;
  return org.members.some((member) => member.permissions.includes('transfer_ownership'));
}

/**
 * The invited address is signed in but already belongs to an organization: joining cannot work
 * until they are out of it, so there is no Join button, only what to do first. What that is comes
 * from the server's permissions: `leave_org` (members, admins), `transfer_ownership` (the owner,
 * who can never leave or delete the org, only hand it over).
 */
function AlreadyInOrgInvitation({ invite, currentOrg }: { invite: PublicInvite; currentOrg: CurrentOrg }) {
  const canLeave = currentOrg.permissions.includes('leave_org');
  const canTransfer = currentOrg.permissions.includes('transfer_ownership');
  const org = useOwnedOrg(!canLeave && canTransfer);
  const successor = hasSuccessor(org.data);
  const mine = currentOrg.name;
  const inviter = invite.inviter?.name ?? 'the person who invited you';
  let advice: ReactNode;
  let next: { to: string; label: string };
  if (canLeave) {
    advice = `Roster accounts belong to one organization at a time. To join ${invite.org.name}, first leave ${mine} on its Organization page, then open this link again.`;
    next = { to: '/settings/organization', label: `Leave ${mine}` };
  } else if (canTransfer && org.isPending) {
    return (
      <InvitationLayout invite={invite}>
        <LoadingBlock label={`Checking ${mine}…`} />
      </InvitationLayout>
    );
  } else if (canTransfer && successor === false) {
    advice = `You own ${mine} and are its only active member. An owner cannot leave an organization, and an organization cannot be deleted, so this account cannot join ${invite.org.name} yet. Invite someone to ${mine}, transfer ownership to them once they have joined, leave ${mine}, then open this link again. Or ask ${inviter} to invite another email address of yours instead.`;
    next = { to: '/settings/members', label: `Invite someone to ${mine}` };
  } else if (canTransfer) {
    advice = `You own ${mine}, and an owner cannot leave it. To join ${invite.org.name}, first transfer ownership of ${mine} to another member on the Members page, then leave ${mine} on its Organization page, and open this link again.`;
    next = { to: '/settings/members', label: 'Transfer ownership' };
  } else {
    advice = `Roster accounts belong to one organization at a time. To join ${invite.org.name}, you need to leave ${mine} first: ask its owner or an admin.`;
    next = { to: '/', label: 'Go to the dashboard' };
  }
  return (
    <InvitationLayout invite={invite}>
      <div className="space-y-4">
        <Alert tone="warning" title={`You are already in ${mine}`}>
          {advice}
        </Alert>
        <Link
          to={next.to}
          className="flex h-10 w-full items-center justify-center rounded-lg bg-white px-4 text-sm font-medium text-zinc-800 shadow-sm ring-1 ring-zinc-300 ring-inset hover:bg-zinc-50"
        >
          {next.label}
        </Link>
      </div>
    </InvitationLayout>
  );
}

export function acceptProblem(error: unknown, invite: PublicInvite, canLeaveOrg: boolean): string {
  const code = error instanceof ApiError ? error.code : '';
  if (code === 'invite_expired') return EXPIRED_MESSAGE;
  if (code === 'already_in_org') {
    return canLeaveOrg
      ? 'You already belong to an organization. Leave it first (Settings → Organization), then open this link again.'
      : 'You already belong to an organization that you own. Transfer its ownership to another member first (Settings → Members), leave it, then open this link again.';
  }
  if (code === 'seat_limit') {
    return `${invite.org.name} has no free seat right now. Ask your admin to add a seat, then open this link again.`;
  }
  return errorMessage(error);
}

function InvitationProblem({
  icon,
  title,
  message,
  action,
}: {
  icon: React.ReactNode;
  title: string;
  message: string;
  action?: React.ReactNode;
}) {
  return (
    <LinkOutcome tone="warning" icon={icon} title={title}>
      <p className="text-sm text-zinc-700">{message}</p>
      {action ?? (
        <Link to="/" className="text-sm font-medium text-brand-700 hover:underline">
          Go to Roster
        </Link>
      )}
    </LinkOutcome>
  );
}
