import { useEffect, useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { toast } from 'sonner';
import * as api from '../../api/client';
import { useMe, useOrg, useOrgBilling, useRefreshBilling } from '../../api/queries';
import { errorMessage, isApiError } from '../../api/errors';
import type { OrgBilling } from '../../api/types';
import { AllocationBalance, AllocationExhaustedAlert } from '../../components/AllocationBalance';
import { Button } from '../../components/Button';
import { Alert, Card, CardHeader, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { ManageBillingButton, PortalNotices, useBillingPortal } from '../../components/BillingPortal';
import { renewalText, Stat, SubscriptionStatusBadge } from '../../components/SubscriptionFacts';
import { TextField } from '../../components/Field';
import { CheckoutConfirmDialog, ConfirmDialog } from '../../components/Dialog';
import { monthlyPriceText, useTeamSeatPrice } from '../../components/SeatPrice';
import { StorageBar } from '../../components/StorageBar';
import { useOrgPermissions } from '../../components/permissions';
import { formatNumber, plural } from '../../lib/format';
import { isCheckoutSuccess, sameOriginPath } from '../../lib/navigation';

/** The server's reason for refusing a seat count below active members plus pending invitations. */
export function seatsRefusalMessage(details: Record<string, unknown> | undefined, fallback: string): string {
  const active = details?.active_members;
  const pending = details?.pending_invites;
  if (typeof active !== 'number' || typeof pending !== 'number') return fallback;
  return `You have ${plural(active, 'member')} and ${plural(pending, 'pending invitation')}; choose at least ${plural(
    active + pending,
    'seat',
  )}.`;
}

/** Why a seat count below what members and pending invitations hold is refused (the server refuses it too). */
function belowUsageMessage(activeMembers: number, pendingInvites: number): string {
  return seatsRefusalMessage({ active_members: activeMembers, pending_invites: pendingInvites }, '');
}

/** A seat-count field's value as a whole number of at least 1, or null. */
function parseSeats(value: string): number | null {
  const requested = Number(value);
  return value.trim() && Number.isInteger(requested) && requested >= 1 ? requested : null;
}

/** What a refused seat change or checkout tells the person: the server's counts when it gave them. */
function seatsErrorMessage(reason: unknown): string {
  return isApiError(reason, 'seats_below_usage')
    ? seatsRefusalMessage(reason.details, errorMessage(reason))
    : errorMessage(reason);
}

export function BillingPage() {
  const can = useOrgPermissions();
  const org = useOrg();
  const me = useMe();
  // The permissions come from GET /org or /me: until one has answered, nothing is known yet.
  const permissionsKnown = org.data !== undefined || me.data !== undefined;
  const canManage = can('manage_billing');
  const billing = useOrgBilling(canManage);
  return (
    <div className="space-y-6">
      <PageHeader title="Billing" description="Your organization’s plan, seats and storage." />
      {!permissionsKnown ? (
        <LoadingBlock label="Loading billing…" />
      ) : !canManage ? (
        <Alert>Only owners and admins manage billing.</Alert>
      ) : billing.isPending ? (
        <LoadingBlock label="Loading billing…" />
      ) : billing.isError ? (
        <ErrorState message={errorMessage(billing.error)} onRetry={() => void billing.refetch()} />
      ) : (
        <>
          <BillingBanners billing={billing.data} />
          {billing.data.enterprise ? (
            <EnterpriseCard seats={billing.data.enterprise.seats} activeMembers={billing.data.enterprise.active_members} />
          ) : (
            <SubscriptionCard billing={billing.data} />
          )}
          <AllocationCard billing={billing.data} />
        </>
      )}
      <Card>
        <CardHeader title="Storage" description="Shared by everyone in the organization." />
        <div className="px-5 py-5">
          <StorageBar />
        </div>
      </Card>
    </div>
  );
}

export function BillingBanners({ billing }: { billing: OrgBilling }) {
  const isEnterprise = billing.enterprise !== null;
  return (
    <>
      {billing.status === 'past_due' ? (
        <Alert tone="error" title="Payment failed">
          {isEnterprise
            ? 'The last payment did not go through. Contact support to update your payment details.'
            : 'The last payment did not go through. Update your payment method in the billing portal (Manage billing).'}
        </Alert>
      ) : null}
      {billing.status === 'canceled' ? (
        <Alert tone="warning" title="Subscription canceled">
          Your members and data stay, but there are no seats to invite into until you subscribe again.
        </Alert>
      ) : null}
      {billing.over_capacity ? (
        <Alert tone="warning" title="More members than seats">
          {`${plural(billing.active_members, 'member')} and ${plural(billing.pending_invites, 'pending invitation')} hold more than your ${plural(
            billing.seats,
            'seat',
          )}. New invitations and acceptances are refused until seats are raised or members leave.`}
        </Alert>
      ) : null}
      <AllocationExhaustedAlert allocation={billing.allocation} plan={billing.plan} />
    </>
  );
}

/** The org's monthly usage allocation (credits) that every member's usage draws from. */
export function AllocationCard({ billing }: { billing: OrgBilling }) {
  const note =
    billing.plan === 'team'
      ? 'Team plans include credits for each seat: adding seats raises the allocation.'
      : billing.plan === 'enterprise'
        ? 'Set by our team — contact support to change it.'
        : undefined;
  return (
    <Card>
      <CardHeader title="Usage allocation this month" description="Every member’s usage draws from it." />
      <div className="space-y-3 px-5 py-5">
        <AllocationBalance allocation={billing.allocation} />
        {note ? <p className="text-xs text-zinc-500">{note}</p> : null}
      </div>
    </Card>
  );
}

export function EnterpriseCard({ seats, activeMembers }: { seats: number; activeMembers: number }) {
  return (
    <Card>
      <CardHeader title="Enterprise plan" description="Managed by our team — contact support to change seats." />
      <dl className="grid grid-cols-2 gap-4 px-5 py-5 text-sm">
        <Stat label="Seats" value={formatNumber(seats)} />
        <Stat label="Active members" value={formatNumber(activeMembers)} />
      </dl>
    </Card>
  );
}

function SubscriptionCard({ billing }: { billing: OrgBilling }) {
  const portal = useBillingPortal('org');
  const isLive = billing.status !== 'canceled';
  // A Team plan that support set (`roster admin set-plan`) is billed by nobody: the server refuses
  // seat changes on it (403 enterprise_managed), so no form is offered.
  const isSupportManaged = billing.managed_by_support && isLive;
  const canChangeSeats = billing.plan === 'team' && isLive && !isSupportManaged;
  return (
    <Card>
      <CardHeader
        title="Subscription"
        description="Seats are the quantity of your subscription: active members and pending invitations each hold one."
        action={<ManageBillingButton portal={portal} isAvailable={billing.portal_available} />}
      />
      <div className="space-y-5 px-5 py-5 text-sm">
        {/* The local provider's portal is this very page: said, instead of reloading it. */}
        <PortalNotices
          portal={portal}
          noPortalTitle="Billing is managed on this page"
          noPortalText={
            isSupportManaged
              ? 'This server uses no payment provider: the local billing provider charges nothing and has no payment portal.'
              : 'This server uses no payment provider: the local billing provider charges nothing and has no payment portal. Change the seats here.'
          }
        />
        <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3">
          <Stat label="Plan" value={<span className="capitalize">{billing.plan ?? 'No plan'}</span>} />
          <Stat label="Status" value={<SubscriptionStatusBadge status={billing.status} />} />
          {/* The local provider has no billing periods: no renewal date to show then. */}
          {billing.current_period_end || billing.cancel_at_period_end ? (
            <Stat label="Renewal" value={renewalText(billing)} />
          ) : null}
          <Stat label="Seats" value={formatNumber(billing.seats)} />
          <Stat label="Active members" value={formatNumber(billing.active_members)} />
          <Stat label="Pending invitations" value={formatNumber(billing.pending_invites)} />
        </dl>
        {canChangeSeats ? (
          <SeatsForm seats={billing.seats} activeMembers={billing.active_members} pendingInvites={billing.pending_invites} />
        ) : null}
        {isSupportManaged && billing.plan === 'team' ? (
          <p className="border-t border-zinc-100 pt-5 text-zinc-700">
            Your plan is managed by Roster support: contact support to change seats.
          </p>
        ) : null}
        {billing.status === 'canceled' && !billing.enterprise ? (
          <ResubscribeForm activeMembers={billing.active_members} pendingInvites={billing.pending_invites} />
        ) : null}
      </div>
    </Card>
  );
}

export function SeatsForm({
  seats,
  activeMembers,
  pendingInvites,
}: {
  seats: number;
  activeMembers: number;
  pendingInvites: number;
}) {
  const [value, setValue] = useState(String(seats));
  const [error, setError] = useState<string | null>(null);
  // The seat count waiting for confirmation: it changes what the org pays at once (prorated).
  const [confirming, setConfirming] = useState<number | null>(null);
  const price = useTeamSeatPrice();
  const refreshBilling = useRefreshBilling();
  useEffect(() => setValue(String(seats)), [seats]);
  const update = useMutation({
    mutationFn: api.updateSeats,
    meta: { inlineErrors: true },
    onSuccess: ({ billing }) => {
      toast.success(`Seats updated to ${formatNumber(billing.seats)}`);
      setConfirming(null);
      void refreshBilling();
    },
    // The refusal is shown on the field, where the count is corrected.
    onError: (reason) => {
      setConfirming(null);
      setError(seatsErrorMessage(reason));
    },
  });
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const requested = parseSeats(value);
    if (requested === null) {
      setError('Enter a whole number of seats, 1 or more.');
      return;
    }
    // Refused here rather than priced in the dialog and then refused with 409 seats_below_usage.
    if (requested < activeMembers + pendingInvites) {
      setError(belowUsageMessage(activeMembers, pendingInvites));
      return;
    }
    setError(null);
    setConfirming(requested);
  }
  return (
    <>
      <ConfirmDialog
        open={confirming !== null}
        onOpenChange={(open) => (open ? undefined : setConfirming(null))}
        title={`Change seats from ${formatNumber(seats)} to ${formatNumber(confirming ?? seats)}?`}
        description={
          <>
            <p className="font-medium text-zinc-900" data-testid="seat-change">
              {formatNumber(seats)} → {plural(confirming ?? seats, 'seat')}
            </p>
            <p>New monthly price: {monthlyPriceText(confirming ?? seats, price)}.</p>
            <p>The payment provider prorates the change for the current period.</p>
          </>
        }
        confirmLabel="Change seats"
        tone="primary"
        isPending={update.isPending}
        onConfirm={() => confirming !== null && update.mutate({ seats: confirming })}
      />
      <SeatsFormFields
        minimumSeats={Math.max(1, activeMembers + pendingInvites)}
        value={value}
        onChange={(next) => {
          // The message was about the previous count.
          setError(null);
          setValue(next);
        }}
        error={error}
        onSubmit={onSubmit}
        isUnchanged={value === String(seats)}
      />
    </>
  );
}

function SeatsFormFields({
  minimumSeats,
  value,
  onChange,
  error,
  onSubmit,
  isUnchanged,
}: {
  minimumSeats: number;
  value: string;
  onChange: (value: string) => void;
  error: string | null;
  onSubmit: (event: FormEvent) => void;
  isUnchanged: boolean;
}) {
  return (
    <form onSubmit={onSubmit} noValidate className="flex flex-col gap-3 border-t border-zinc-100 pt-5 sm:flex-row sm:items-start">
      <TextField
        label="Number of seats"
        type="number"
        inputMode="numeric"
        min={minimumSeats}
        step={1}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        error={error}
        hint={`At least ${plural(minimumSeats, 'seat')}: one for each member and pending invitation. Billed per seat, prorated at the payment provider.`}
        containerClassName="sm:w-72"
      />
      <Button type="submit" className="sm:mt-7" disabled={isUnchanged}>
        Update seats
      </Button>
    </form>
  );
}

/** A canceled org subscribes again through a new checkout, for at least the seats its members hold. */
export function ResubscribeForm({ activeMembers, pendingInvites }: { activeMembers: number; pendingInvites: number }) {
  const minimumSeats = Math.max(1, activeMembers + pendingInvites);
  const [value, setValue] = useState(String(minimumSeats));
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const price = useTeamSeatPrice();
  const refreshBilling = useRefreshBilling();
  const checkout = useMutation({
    mutationFn: api.startCheckout,
    meta: { inlineErrors: true },
    onSuccess: ({ url }) => {
      // The local billing provider completes at once: stay here and show the new subscription.
      setConfirming(null);
      if (isCheckoutSuccess(url)) {
        toast.success('Subscribed to the Team plan again');
        void refreshBilling();
        return;
      }
      const inApp = sameOriginPath(url);
      if (inApp === null) window.location.assign(url);
      else window.location.href = inApp;
    },
    // The refusal is shown on the field, where the count is corrected.
    onError: (reason) => {
      setConfirming(null);
      setError(seatsErrorMessage(reason));
    },
  });
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const requested = parseSeats(value);
    if (requested === null) {
      setError('Enter a whole number of seats, 1 or more.');
      return;
    }
    // Refused here rather than priced in the checkout dialog and then refused with 409 seats_below_usage.
    if (requested < minimumSeats) {
      setError(belowUsageMessage(activeMembers, pendingInvites));
      return;
    }
    setError(null);
    setConfirming(requested);
  }
  return (
    <>
      <CheckoutConfirmDialog
        seats={confirming}
        price={price}
        isPending={checkout.isPending}
        onCancel={() => setConfirming(null)}
        onConfirm={(seats) => checkout.mutate({ plan: 'team', seats, scope: 'org' })}
      />
      <form
        onSubmit={onSubmit}
        noValidate
        className="flex flex-col gap-3 border-t border-zinc-100 pt-5 sm:flex-row sm:items-start"
      >
        <TextField
          label="Seats for the new subscription"
          type="number"
          inputMode="numeric"
          min={minimumSeats}
          step={1}
          value={value}
          onChange={(event) => {
            setError(null);
            setValue(event.target.value);
          }}
          error={error}
          hint={`At least ${plural(minimumSeats, 'seat')}: one for each member and pending invitation.`}
          containerClassName="sm:w-72"
        />
        <Button type="submit" className="sm:mt-7">
          Subscribe again
        </Button>
      </form>
    </>
  );
}
