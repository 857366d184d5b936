import { useDeferredValue, useMemo, useState } from 'react';
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
  const [search, setSearch] = useState('');
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

  const allMembers = useMemo(() => members.data?.pages.flatMap((page) => page.members) ?? [], [members.data]);
  const visibleInvites = useMemo(() => {
    const needle = deferredSearch.toLowerCase();
    return (invites.data?.invites ?? []).filter(
      (invite) => (invite.status === 'pending' || invite.status === 'expired') && invite.email.toLowerCase().startsWith(needle),
    );
  }, [invites.data, deferredSearch]);

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
            <>
              <Button variant="secondary" onClick={() => setBulkOpen(true)}>
                <UsersRound className="size-4" aria-hidden />
                Bulk invite
              </Button>
              <Button onClick={() => setInviteOpen(true)}>
                <MailPlus className="size-4" aria-hidden />
                Invite member
              </Button>
            </>
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
          <label className="relative block w-full sm:w-64">
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
            <table className="w-full text-left text-sm">
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
                  <th scope="col" className="hidden px-4 py-2.5 lg:table-cell">
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
                    <td className="w-full max-w-0 px-4 py-3 sm:px-5 lg:w-auto lg:max-w-xs">
                      {/* On a phone the address wraps instead of being cut: it is how people are told apart. */}
                      <p className="font-medium break-all text-zinc-900 sm:truncate">{member.email}</p>
                      <p className="text-xs break-words text-zinc-500 sm:truncate md:hidden">
                        {member.display_name}
                        <span className="sm:hidden"> · {roleLabel(member.role)}</span>
                      </p>
                    </td>
                    <td className="hidden px-4 py-3 text-zinc-700 md:table-cell">
                      {member.display_name}
                      {member.user_id === viewerId ? <span className="ml-1.5 text-xs text-zinc-500">(you)</span> : null}
                    </td>
                    <td className="hidden px-4 py-3 sm:table-cell">
                      <Badge tone={member.role === 'member' ? 'neutral' : 'brand'}>{roleLabel(member.role)}</Badge>
                    </td>
                    <td className="hidden px-4 py-3 whitespace-nowrap text-zinc-600 lg:table-cell">
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
                    <td className="w-full max-w-0 px-4 py-3 sm:px-5 lg:w-auto lg:max-w-xs">
                      <p className="font-medium break-all text-zinc-900 sm:truncate">{invite.email}</p>
                      <p className="text-xs text-zinc-500 sm:truncate md:hidden">
                        Invited {formatDate(invite.created_at)}
                        <span className="sm:hidden"> · {roleLabel(invite.role)}</span>
                      </p>
                      {canInvite && invite.link && invite.status === 'pending' ? (
                        <p className="truncate font-mono text-xs text-zinc-500" data-testid="invite-link">
                          {invite.link}
                        </p>
                      ) : null}
                    </td>
                    <td className="hidden px-4 py-3 text-zinc-500 md:table-cell">—</td>
                    <td className="hidden px-4 py-3 sm:table-cell">
                      <Badge tone={invite.role === 'member' ? 'neutral' : 'brand'}>{roleLabel(invite.role)}</Badge>
                    </td>
                    <td className="hidden px-4 py-3 whitespace-nowrap text-zinc-500 lg:table-cell">
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
          {member.email} is signed out everywhere at once, and every API token of theirs stops working. They can no longer log in.
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
