import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import * as api from '../../api/client';
import { queryKeys, useOrg, useRefreshOrg } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { MeResponse } from '../../api/types';
import { Button } from '../../components/Button';
import { Card, CardHeader, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { ConfirmDialog } from '../../components/Dialog';
import { TextField } from '../../components/Field';
import { SeatCounter } from '../../components/SeatCounter';
import { StorageBar } from '../../components/StorageBar';
import { useOrgPermissions } from '../../components/permissions';
import { periodAfter } from '../../lib/format';

export function OrganizationPage() {
  const org = useOrg();
  const can = useOrgPermissions();
  const canRename = can('rename_org');
  if (org.isPending) return <LoadingBlock label="Loading organization…" />;
  if (org.isError) return <ErrorState message={errorMessage(org.error)} onRetry={() => void org.refetch()} />;
  const details = org.data.org;
  if (!details) return <ErrorState message="You are not a member of an organization." />;

  return (
    <div className="space-y-6">
      <PageHeader
        title="Organization"
        description={
          can('manage_billing')
            ? 'Your organization’s profile, seats and storage. Plan and payment are under Billing.'
            : 'Your organization’s profile, seats and storage.'
        }
      />
      <Card>
        <CardHeader title="Profile" />
        <div className="px-5 py-5">
          {canRename ? <OrgNameForm name={details.name} /> : <ReadOnly label="Name" value={details.name} />}
          <div className="mt-4 grid gap-4 sm:grid-cols-2">
            <ReadOnly label="Slug" value={<span className="font-mono text-[13px]">{details.slug}</span>} />
            <ReadOnly label="Plan" value={<span className="capitalize">{details.tier ?? 'No active plan'}</span>} />
          </div>
        </div>
      </Card>
      <div className="grid gap-6 md:grid-cols-2">
        <Card>
          <CardHeader title="Seats" description="Active members and pending invitations each hold a seat." />
          <div className="px-5 py-5">
            <SeatCounter />
          </div>
        </Card>
        <Card>
          <CardHeader title="Storage" description="Shared by everyone in the organization." />
          <div className="px-5 py-5">
            <StorageBar />
          </div>
        </Card>
      </div>
      {can('leave_org') ? <LeaveOrgCard orgName={details.name} /> : null}
    </div>
  );
}

function ReadOnly({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div>
      <p className="text-sm font-medium text-zinc-500">{label}</p>
      <p className="mt-1 text-sm text-zinc-900">{value}</p>
    </div>
  );
}

function OrgNameForm({ name }: { name: string }) {
  const [value, setValue] = useState(name);
  const [error, setError] = useState<string | null>(null);
  const refreshOrg = useRefreshOrg();
  const queryClient = useQueryClient();
  useEffect(() => setValue(name), [name]);
  const rename = useMutation({
    mutationFn: api.updateOrg,
    meta: { inlineErrors: true },
    onSuccess: () => {
      toast.success('Organization name saved');
      void refreshOrg();
      void queryClient.invalidateQueries({ queryKey: queryKeys.me });
    },
    onError: (reason) => setError(errorMessage(reason)),
  });
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!value.trim()) {
      setError('Enter a name for your organization.');
      return;
    }
    setError(null);
    rename.mutate({ name: value.trim() });
  }
  return (
    <form onSubmit={onSubmit} noValidate className="flex flex-col gap-3 sm:flex-row sm:items-start">
      <TextField
        label="Name"
        value={value}
        onChange={(event) => setValue(event.target.value)}
        error={error}
        containerClassName="flex-1"
      />
      <Button type="submit" variant="secondary" className="sm:mt-7" isLoading={rename.isPending} disabled={value.trim() === name}>
        Save
      </Button>
    </form>
  );
}

function LeaveOrgCard({ orgName }: { orgName: string }) {
  const [isConfirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const leave = useMutation({
    mutationFn: api.leaveOrg,
    meta: { inlineErrors: true },
    onSuccess: () => {
      toast.success(`You left ${orgName}`);
      // The user has no org now: every org-scoped request would answer 403. Say so in /me first
      // (which switches off the org queries and sends the guards to /create-org), drop the old
      // org's data, and confirm /me with the server.
      queryClient.setQueryData<MeResponse | null>(queryKeys.me, (current) => (current ? { ...current, org: null } : current));
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== queryKeys.me[0] });
      void queryClient.invalidateQueries({ queryKey: queryKeys.me });
      void navigate('/', { replace: true });
    },
    onError: (reason) => setError(errorMessage(reason)),
  });
  return (
    <Card className="ring-red-200">
      <CardHeader
        title="Leave organization"
        description={`You lose access to ${orgName}${periodAfter(orgName)} An admin can invite you again.`}
        action={
          <Button variant="danger" size="sm" onClick={() => setConfirming(true)}>
            Leave organization
          </Button>
        }
      />
      <ConfirmDialog
        open={isConfirming}
        onOpenChange={setConfirming}
        title={`Leave ${orgName}?`}
        description={<p>You lose access right away and your seat is freed.</p>}
        confirmLabel="Leave"
        isPending={leave.isPending}
        error={error}
        onConfirm={() => leave.mutate()}
      />
    </Card>
  );
}
