import { useDeferredValue, useEffect, useId, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useMutation } from '@tanstack/react-query';
import { toast } from 'sonner';
import { MailPlus, RotateCw, Search, Users, UsersRound } from 'lucide-react';
import * as api from '../../api/client';
import { canActOn } from '../../api/permissions';
import { useMe, useMembers, useOrg, usePendingInvites, useRefreshOrg } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { Invite, Member } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert, Badge, Card, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { ConfirmDialog } from '../../components/Dialog';
import { EmailText } from '../../components/EmailText';
import { RowMenu, type RowMenuItem } from '../../components/RowMenu';
import { SeatCounter } from '../../components/SeatCounter';
import { useOrgPermissions } from '../../components/permissions';
import { formatDate, formatNumber, plural, roleLabel } from '../../lib/format';
import { BulkInviteDialog } from './BulkInviteDialog';
import { CopyInviteLinkButton } from './CopyInviteLinkButton';
import { InviteMemberDialog } from './InviteMemberDialog';
import { MemberDetailsDialog } from './MemberDetailsDialog';
import { UsageLimitDialog } from './UsageLimitDialog';

type Confirmation =
  { kind: 'disable'; member: Member } | { kind: 'remove'; member: Member } | { kind: 'transfer'; member: Member };

export function MembersPage() {
  const me = useMe();
  const org = useOrg();
  const can = useOrgPermissions();
  const canInvite = can('invite');
  // The search lives in the URL too (?q=, replaced as it is typed), so a reload or a way back keeps it.
  const [searchParams, setSearchParams] = useSearchParams();
  const [search, setSearchText] = useState(() => searchParams.get('q') ?? '');
  const deferredSearch = useDeferredValue(search.trim());
  const members = useMembers(deferredSearch);
  const invites = usePendingInvites(canInvite);
  const [isInviteOpen, setInviteOpen] = useState(false);
  const [isBulkOpen, setBulkOpen] = useState(false);
  const [viewing, setViewing] = useState<Member | null>(null);
  const [limiting, setLimiting] = useState<Member | null>(null);
  const [confirmation, setConfirmation] = useState<Confirmation | null>(null);
  const [confirmError, setConfirmError] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<Invite | null>(null);
  const refreshOrg = useRefreshOrg();
  const viewerId = me.data?.user.id ?? '';
  const orgName = org.data?.org?.name ?? 'your organization';
  const membersWithoutLimit = org.data?.org?.members_without_limit ?? 0;
  const membersTotal = org.data && 'members_total' in org.data ? org.data.members_total : undefined;
  const seats = org.data?.org?.seats;
  // An up-front hint only (GET /org may be a moment old): the server still refuses with seat_limit.
  const areSeatsFull = seats !== undefined && seats.used >= seats.limit;
  const seatsHintId = useId();
  const tableRef = useRef<HTMLTableElement>(null);
  const [removedRow, setRemovedRow] = useState<{ email: string; candidates: string[] } | null>(null);

  const allMembers = useMemo(() => members.data?.pages.flatMap((page) => page.members) ?? [], [members.data]);
  const visibleInvites = useMemo(() => {
    const needle = deferredSearch.toLowerCase();
    // A demoted admin's cached list is not shown once the server's permissions drop `invite`.
    if (!canInvite) return [];
    return (invites.data?.invites ?? []).filter(
      (invite) => (invite.status === 'pending' || invite.status === 'expired') && invite.email.toLowerCase().startsWith(needle),
    );
  }, [invites.data, deferredSearch, canInvite]);

  // A removed row takes its focused "…" button with it, and focus would fall to the page's
  // start: once the row is gone, move it to the nearest row's "…" button (the next one, else
  // the one before), or to the table when none is left.
  useEffect(() => {
    if (!removedRow) return;
    const isStillListed =
      allMembers.some((member) => member.email === removedRow.email) ||
      visibleInvites.some((invite) => invite.email === removedRow.email);
    if (isStillListed) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let waits = 0;
    const settle = () => {
      const active = document.activeElement;
      // The confirmation may still be closing (it then returns focus to the gone row's "…"): let it finish.
      if (active?.closest('[role="alertdialog"], [role="dialog"]') && waits < 10) {
        waits += 1;
        timer = setTimeout(settle, 20);
        return;
      }
      setRemovedRow(null);
      // Only when focus was lost with the row: never take it from where the user has since moved it.
      if (active && active !== document.body && active.isConnected) return;
      const rows = [...(tableRef.current?.querySelectorAll<HTMLTableRowElement>('tr[data-row-email]') ?? [])];
      for (const email of removedRow.candidates) {
        const menuButton = rows
          .find((row) => row.dataset.rowEmail === email)
          ?.querySelector<HTMLButtonElement>('button[aria-haspopup="menu"]');
        if (menuButton) {
          menuButton.focus();
          return;
        }
      }
      tableRef.current?.focus();
    };
    timer = setTimeout(settle, 0);
    return () => clearTimeout(timer);
  }, [removedRow, allMembers, visibleInvites]);

  /** Remembers where focus goes once this row has disappeared after a removal. */
  function focusNearRowAfterRemoval(email: string) {
    const order = [...allMembers.map((member) => member.email), ...visibleInvites.map((invite) => invite.email)];
    const index = order.indexOf(email);
    const candidates = index === -1 ? [] : [...order.slice(index + 1), ...order.slice(0, index).reverse()];
    setRemovedRow({ email, candidates });
  }

  function setSearch(value: string) {
    setSearchText(value);
    setSearchParams(
      (params) => {
        const updated = new URLSearchParams(params);
        if (value.trim()) updated.set('q', value);
        else updated.delete('q');
        return updated;
      },
      { replace: true },
    );
  }

  const describe = (member: Member) => member.display_name || member.email;

  const changeRole = useMutation({
    mutationFn: ({ member, nextRole }: { member: Member; nextRole: 'admin' | 'member' }) =>
      api.setMemberRole(member.user_id, nextRole),
    onSuccess: (_result, { member, nextRole }) => {
      toast.success(`${describe(member)} is now ${nextRole === 'admin' ? 'an admin' : 'a member'}`);
      void refreshOrg();
    },
  });
  const resend = useMutation({
    mutationFn: (invite: Invite) => api.resendInvite(invite.id),
    onSuccess: (_result, invite) => {
      toast.success(`Invitation resent to ${invite.email}`);
      void refreshOrg();
    },
  });
  const revoke = useMutation({
    mutationFn: (invite: Invite) => api.revokeInvite(invite.id),
    meta: { inlineErrors: true },
    onSuccess: (_result, invite) => {
      toast.success(`Invitation to ${invite.email} revoked`);
      focusNearRowAfterRemoval(invite.email);
      setRevoking(null);
      void refreshOrg();
    },
  });
  const confirmAction = useMutation({
    mutationFn: async (action: Confirmation) => {
      if (action.kind === 'disable') await api.disableMember(action.member.user_id);
      else if (action.kind === 'remove') await api.removeMember(action.member.user_id);
      else await api.transferOwnership(action.member.user_id);
    },
    meta: { inlineErrors: true },
    onMutate: () => setConfirmError(null),
    onSuccess: async (_result, action) => {
      const name = describe(action.member);
      toast.success(
        action.kind === 'disable'
          ? `${name} has been disabled`
          : action.kind === 'remove'
            ? `${name} has been removed from ${orgName}`
            : `${name} is now the owner of ${orgName}`,
      );
      if (action.kind === 'remove') focusNearRowAfterRemoval(action.member.email);
      setConfirmation(null);
      await refreshOrg();
      if (action.kind === 'transfer') void me.refetch();
    },
    onError: (error) => setConfirmError(errorMessage(error)),
  });

  function memberMenu(member: Member): RowMenuItem[] {
    const items: RowMenuItem[] = [];
    if (canActOn(member, 'view')) items.push({ label: 'View', onSelect: () => setViewing(member) });
    if (canActOn(member, 'change_role')) {
      const nextRole = member.role === 'admin' ? 'member' : 'admin';
      items.push({
        label: nextRole === 'admin' ? 'Make admin' : 'Make member',
        onSelect: () => changeRole.mutate({ member, nextRole }),
      });
    }
    if (canActOn(member, 'set_usage_limit')) items.push({ label: 'Set usage limit', onSelect: () => setLimiting(member) });
    if (canActOn(member, 'transfer_ownership')) {
      items.push({ label: 'Transfer ownership', onSelect: () => openConfirmation({ kind: 'transfer', member }) });
    }
    if (canActOn(member, 'disable')) {
      items.push({
        label: 'Disable user',
        tone: 'danger',
        separatorBefore: true,
        onSelect: () => openConfirmation({ kind: 'disable', member }),
      });
    }
    if (canActOn(member, 'remove')) {
      items.push({
        label: 'Remove',
        tone: 'danger',
        separatorBefore: !canActOn(member, 'disable'),
        onSelect: () => openConfirmation({ kind: 'remove', member }),
      });
    }
    return items;
  }

  function inviteMenu(invite: Invite): RowMenuItem[] {
    if (!canInvite) return [];
    return [
      { label: 'Resend', onSelect: () => resend.mutate(invite) },
      {
        label: 'Revoke',
        tone: 'danger',
        onSelect: () => {
          revoke.reset();
          setRevoking(invite);
        },
      },
    ];
  }

  function openConfirmation(next: Confirmation) {
    setConfirmError(null);
    setConfirmation(next);
  }

  const isLoading = members.isPending || (canInvite && invites.isPending);
  const rowCount = allMembers.length + visibleInvites.length;

  return (
    <div>
      <PageHeader
        title="Members"
        description={`People in ${orgName} and the invitations waiting for an answer.`}
        actions={
          canInvite ? (
            // The hint sits under the buttons it explains, narrow, so the header keeps its shape (right-aligned
            // only from xl, where it stands beside the title instead of below it).
            <div className="flex flex-col items-start gap-2 xl:items-end">
              <div className="flex flex-wrap gap-2">
                <Button
                  variant="secondary"
                  onClick={() => setBulkOpen(true)}
                  disabled={areSeatsFull}
                  aria-describedby={areSeatsFull ? seatsHintId : undefined}
                >
                  <UsersRound className="size-4" aria-hidden />
                  Bulk invite
                </Button>
                <Button
                  onClick={() => setInviteOpen(true)}
                  disabled={areSeatsFull}
                  aria-describedby={areSeatsFull ? seatsHintId : undefined}
                >
                  <MailPlus className="size-4" aria-hidden />
                  Invite member
                </Button>
              </div>
              {areSeatsFull && seats ? (
                <p id={seatsHintId} className="max-w-sm text-sm text-amber-800 xl:text-right">
                  {seats.limit === 0
                    ? 'Your organization has no seats, so no one can be invited.'
                    : `All seats are in use (${formatNumber(seats.used)} of ${formatNumber(seats.limit)}), so no one can be invited until one is free.`}
                  {can('manage_billing') ? (
                    <>
                      {' '}
                      <Link to="/settings/billing" className="font-medium underline underline-offset-2">
                        Add seats under Billing
                      </Link>
                    </>
                  ) : null}
                </p>
              ) : null}
            </div>
          ) : undefined
        }
      />

      {can('set_usage_limits') && membersWithoutLimit > 0 ? (
        <Alert tone="warning" className="mb-4" title="Some members have no usage limit">
          {plural(membersWithoutLimit, 'member has', 'members have')} no individual usage limit, so one user may consume the whole
          allocation of the organization. Set a limit from the … menu of each member.
        </Alert>
      ) : null}

      <Card>
        <div className="flex flex-col gap-4 border-b border-zinc-100 px-4 py-4 sm:flex-row sm:items-center sm:justify-between sm:px-5">
          <SeatCounter />
          <label className="relative block w-full sm:w-64 sm:shrink-0">
            <span className="sr-only">Search members</span>
            <Search className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-zinc-400" aria-hidden />
            <input
              type="search"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
              placeholder="Search by name or email"
              className="h-9 w-full rounded-lg border-0 bg-white pr-3 pl-9 text-sm ring-1 ring-zinc-300 ring-inset placeholder:text-zinc-400 focus:ring-2 focus:ring-brand-600 focus:outline-none"
            />
          </label>
        </div>

        {isLoading ? (
          <LoadingBlock label="Loading members…" />
        ) : members.isError ? (
          <ErrorState message={errorMessage(members.error)} onRetry={() => void members.refetch()} />
        ) : rowCount === 0 ? (
          <EmptyState
            title={deferredSearch ? 'No one matches your search' : 'No members yet'}
            icon={<Users className="size-5" />}
          >
            {deferredSearch ? 'Try another name or email address.' : 'Invite your colleagues to get started.'}
          </EmptyState>
        ) : (
          <div className="overflow-x-auto">
            {/* The Email column takes what the others leave (w-full max-w-0) and cuts long addresses
                and invitation links inside it, so Status and the actions always fit the card. */}
            <table ref={tableRef} tabIndex={-1} className="w-full text-left text-sm focus:outline-none">
              <caption className="sr-only">Members and pending invitations</caption>
              <thead className="bg-zinc-50 text-xs font-medium tracking-wide text-zinc-500 uppercase">
                <tr>
                  <th scope="col" className="px-4 py-2.5 sm:px-5">
                    Email
                  </th>
                  <th scope="col" className="hidden px-4 py-2.5 md:table-cell">
                    Name
                  </th>
                  <th scope="col" className="hidden px-4 py-2.5 sm:table-cell">
                    Role
                  </th>
                  {/* From xl only: at 1024-1280 px the email, Status and actions need its width (dates: View). */}
                  <th scope="col" className="hidden px-4 py-2.5 xl:table-cell">
                    Joined
                  </th>
                  <th scope="col" className="w-px px-4 py-2.5 whitespace-nowrap">
                    Status
                  </th>
                  <th scope="col" className="w-12 px-4 py-2.5">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100">
                {allMembers.map((member) => (
                  <tr key={member.user_id} className="hover:bg-zinc-50/60" data-row-email={member.email}>
                    <td className="w-full max-w-0 px-4 py-3 sm:px-5">
                      {/* On a phone the address wraps before its "@" (never mid-word): it is how people are told apart. */}
                      <EmailText email={member.email} className="font-medium text-zinc-900 sm:truncate" />
                      <p className="text-xs break-words text-zinc-500 sm:truncate md:hidden">
                        {member.display_name}
                        <span className="sm:hidden"> · {roleLabel(member.role)}</span>
                      </p>
                    </td>
                    <td className="hidden px-4 py-3 text-zinc-700 md:table-cell">
                      {/* A capped width: a long name wraps (one cut line from xl) instead of widening the table. */}
                      <p className="max-w-40 break-words xl:max-w-56 xl:truncate" title={member.display_name}>
                        {member.display_name}
                        {member.user_id === viewerId ? <span className="ml-1.5 text-xs text-zinc-500">(you)</span> : null}
                      </p>
                    </td>
                    <td className="hidden px-4 py-3 sm:table-cell">
                      <Badge tone={member.role === 'member' ? 'neutral' : 'brand'}>{roleLabel(member.role)}</Badge>
                    </td>
                    <td className="hidden px-4 py-3 whitespace-nowrap text-zinc-600 xl:table-cell">
                      {formatDate(member.joined_at)}
                    </td>
                    <td className="px-4 py-3">
                      {member.status === 'disabled' ? (
                        <Badge tone="red">Disabled</Badge>
                      ) : (
                        <span className="text-zinc-600">Active</span>
                      )}
                    </td>
                    <td className="px-4 py-2 text-right">
                      <RowMenu subject={member.email} items={memberMenu(member)} />
                    </td>
                  </tr>
                ))}
                {visibleInvites.map((invite) => (
                  <tr key={invite.id} className="bg-amber-50/30 hover:bg-amber-50/60" data-row-email={invite.email}>
                    <td className="w-full max-w-0 px-4 py-3 sm:px-5">
                      <EmailText email={invite.email} className="font-medium text-zinc-900 sm:truncate" />
                      <p className="text-xs text-zinc-500 sm:truncate xl:hidden">
                        Invited {formatDate(invite.created_at)}
                        <span className="sm:hidden"> · {roleLabel(invite.role)}</span>
                      </p>
                      {canInvite && invite.link && invite.status === 'pending' ? (
                        <p className="truncate font-mono text-xs text-zinc-500" data-testid="invite-link" title={invite.link}>
                          {invite.link}
                        </p>
                      ) : null}
                    </td>
                    <td className="hidden px-4 py-3 text-zinc-500 md:table-cell">—</td>
                    <td className="hidden px-4 py-3 sm:table-cell">
                      <Badge tone={invite.role === 'member' ? 'neutral' : 'brand'}>{roleLabel(invite.role)}</Badge>
                    </td>
                    <td className="hidden px-4 py-3 whitespace-nowrap text-zinc-500 xl:table-cell">
                      Invited {formatDate(invite.created_at)}
                    </td>
                    <td className="px-4 py-3">
                      {invite.status === 'expired' ? <Badge tone="red">Expired</Badge> : <Badge tone="amber">Pending</Badge>}
                    </td>
                    <td className="px-4 py-2 text-right">
                      <div className="flex items-center justify-end gap-1">
                        {/* An expired link is dead: offer a fresh one (Resend) instead of copying it. */}
                        {canInvite && invite.status === 'expired' ? (
                          <Button
                            variant="ghost"
                            size="sm"
                            onClick={() => resend.mutate(invite)}
                            isLoading={resend.isPending && resend.variables?.id === invite.id}
                          >
                            <RotateCw className="size-4" aria-hidden />
                            <span className="max-sm:sr-only">Resend</span>{' '}
                            <span className="sr-only">the invitation to {invite.email}</span>
                          </Button>
                        ) : canInvite && invite.link ? (
                          <CopyInviteLinkButton link={invite.link} email={invite.email} />
                        ) : null}
                        <RowMenu subject={invite.email} items={inviteMenu(invite)} />
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {members.hasNextPage ? (
          <div className="flex flex-wrap items-center justify-center gap-3 border-t border-zinc-100 px-5 py-3">
            {membersTotal !== undefined && !deferredSearch ? (
              <p className="text-sm text-zinc-600">
                Showing {formatNumber(allMembers.length)} of {plural(membersTotal, 'member')}
              </p>
            ) : null}
            <Button
              variant="secondary"
              size="sm"
              onClick={() => void members.fetchNextPage()}
              isLoading={members.isFetchingNextPage}
            >
              Load more members
            </Button>
          </div>
        ) : null}
      </Card>

      {/* Each dialog opens only from a control the server's permissions allowed. */}
      <InviteMemberDialog open={isInviteOpen} onOpenChange={setInviteOpen} />
      <BulkInviteDialog open={isBulkOpen} onOpenChange={setBulkOpen} />
      <MemberDetailsDialog member={viewing} onClose={() => setViewing(null)} />
      <UsageLimitDialog member={limiting} onClose={() => setLimiting(null)} />
      <ConfirmDialog
        open={confirmation !== null}
        onOpenChange={(open) => (open ? undefined : setConfirmation(null))}
        title={confirmationTitle(confirmation, orgName)}
        description={confirmation ? confirmationText(confirmation, orgName) : ''}
        confirmLabel={
          confirmation?.kind === 'disable' ? 'Disable user' : confirmation?.kind === 'remove' ? 'Remove' : 'Transfer ownership'
        }
        tone={confirmation?.kind === 'transfer' ? 'primary' : 'danger'}
        isPending={confirmAction.isPending}
        error={confirmError}
        onConfirm={() => confirmation && confirmAction.mutate(confirmation)}
      />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => (open ? undefined : setRevoking(null))}
        title={revoking ? `Revoke the invitation to ${revoking.email}?` : ''}
        description={
          <p>
            The invitation link stops working at once and its seat is freed. You can invite {revoking?.email ?? 'them'} again
            later.
          </p>
        }
        confirmLabel="Revoke invitation"
        isPending={revoke.isPending}
        error={revoke.isError ? errorMessage(revoke.error) : null}
        onConfirm={() => revoking && revoke.mutate(revoking)}
      />
    </div>
  );
}

function confirmationTitle(confirmation: Confirmation | null, orgName: string): string {
  if (!confirmation) return '';
  const name = confirmation.member.display_name || confirmation.member.email;
  if (confirmation.kind === 'disable') return `Disable ${name}?`;
  if (confirmation.kind === 'remove') return `Remove ${name} from ${orgName}?`;
  return `Transfer ownership to ${name}?`;
}

function confirmationText(confirmation: Confirmation, orgName: string) {
  const { member } = confirmation;
  if (confirmation.kind === 'disable') {
    return (
      <>
        <p>
          {member.email} is signed out everywhere at once, every API token of theirs is deleted, and they leave every project.
          They can no longer log in.
        </p>
        <p className="font-medium text-zinc-900">
          This cannot be undone in the app: only your Roster operator can re-enable the account.
        </p>
      </>
    );
  }
  if (confirmation.kind === 'remove') {
    return (
      <p>
        {member.email} loses access to {orgName} right away and their seat is freed. You can invite them again later.
      </p>
    );
  }
  return (
    <p>
      {member.display_name || member.email} becomes the owner of {orgName}, and you become an admin. Only the new owner can
      transfer ownership again.
    </p>
  );
}
