import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import * as api from '../../api/client';
import { queryKeys, useOrg, useOrgBilling, useRefreshOrg } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import { Button } from '../../components/Button';
import { Alert, Card, CardHeader, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { ConfirmDialog } from '../../components/Dialog';
import { TextField } from '../../components/Field';
import { SeatCounter } from '../../components/SeatCounter';
import { useOrgPermissions } from '../../components/permissions';
import { formatBytes } from '../../lib/format';
import { sameOriginPath } from '../../lib/navigation';

export function OrganizationPage() {
  const org = useOrg();
  const can = useOrgPermissions();
  const canRename = can('rename_org');
  if (org.isPending) return <LoadingBlock label="Loading organization…" />;
  if (org.isError) return <ErrorState message={errorMessage(org.error)} onRetry={() => void org.refetch()} />;
  const details = org.data.org;
  if (!details) return <ErrorState message="You are not a member of an organization." />;
  const storageLimit = details.storage_limit_bytes;
  const storageRatio = storageLimit ? Math.min(1, details.storage_used_bytes / storageLimit) : 0;

  return (
    <div className="space-y-6">
      <PageHeader
        title="Organization"
        description={
          canRename ? 'Your organization’s profile, plan, seats and storage.' : 'Your organization’s profile, seats and storage.'
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
            <p className="text-sm font-medium text-zinc-800">
              {formatBytes(details.storage_used_bytes)} of {storageLimit === null ? 'unlimited' : formatBytes(storageLimit)} used
            </p>
            {storageLimit !== null ? (
              <div
                className="mt-2 h-2 max-w-xs overflow-hidden rounded-full bg-zinc-200"
                role="progressbar"
                aria-label="Storage used"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(storageRatio * 100)}
              >
                <div className="h-full rounded-full bg-brand-600" style={{ width: `${Math.round(storageRatio * 100)}%` }} />
              </div>
            ) : null}
          </div>
        </Card>
      </div>
      {can('manage_billing') ? <BillingCard /> : null}
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

function BillingCard() {
  const billing = useOrgBilling(true);
  const portal = useMutation({
    mutationFn: () => api.openBillingPortal('org'),
    onSuccess: ({ url }) => {
      const inApp = sameOriginPath(url);
      if (inApp === null) window.location.assign(url);
      else window.location.href = inApp;
    },
  });
  return (
    <Card>
      <CardHeader
        title="Billing"
        description="Seats are the quantity of your subscription."
        action={
          billing.data?.portal_available ? (
            <Button variant="secondary" size="sm" onClick={() => portal.mutate()} isLoading={portal.isPending}>
              Manage billing
            </Button>
          ) : undefined
        }
      />
      <div className="px-5 py-5 text-sm">
        {billing.isPending ? (
          <LoadingBlock label="Loading billing…" />
        ) : billing.isError ? (
          <p className="text-zinc-500">{errorMessage(billing.error)}</p>
        ) : (
          <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
            <div>
              <dt className="text-zinc-500">Plan</dt>
              <dd className="mt-1 font-medium text-zinc-900 capitalize">{billing.data.plan}</dd>
            </div>
            <div>
              <dt className="text-zinc-500">Seats</dt>
              <dd className="mt-1 font-medium text-zinc-900">{billing.data.seats}</dd>
            </div>
            <div>
              <dt className="text-zinc-500">Active members</dt>
              <dd className="mt-1 font-medium text-zinc-900">{billing.data.active_members}</dd>
            </div>
            <div>
              <dt className="text-zinc-500">Pending invitations</dt>
              <dd className="mt-1 font-medium text-zinc-900">{billing.data.pending_invites}</dd>
            </div>
          </dl>
        )}
        {billing.data?.enterprise ? (
          <Alert className="mt-4">Enterprise seats are managed by Roster support. Contact them to change your plan.</Alert>
        ) : null}
      </div>
    </Card>
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
    onSuccess: async () => {
      toast.success(`You left ${orgName}`);
      await queryClient.invalidateQueries();
      void navigate('/', { replace: true });
    },
    onError: (reason) => setError(errorMessage(reason)),
  });
  return (
    <Card className="ring-red-200">
      <CardHeader
        title="Leave organization"
        description={`You lose access to ${orgName}. An admin can invite you again.`}
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
