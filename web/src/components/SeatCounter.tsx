import { useOrg } from '../api/queries';
import type { SeatUsage } from '../api/types';
import { cn } from '../lib/cn';
import { formatNumber, plural } from '../lib/format';
import { useOrgPermissions } from './permissions';

/** "7 of 10 seats used — 5 members, 2 pending" */
export function seatSummary(seats: SeatUsage): string {
  return `${formatNumber(seats.used)} of ${plural(seats.limit, 'seat')} used — ${plural(
    seats.active_members,
    'member',
  )}, ${formatNumber(seats.pending_invites)} pending`;
}

/**
 * What to do when every seat is taken, for what the caller may do: revoking needs `invite`,
 * adding seats `manage_billing`; anyone else can only wait for a seat or ask.
 */
export function fullSeatsAdvice(canInvite: boolean, canManageBilling: boolean): string {
  if (canInvite && canManageBilling)
    return 'All seats are in use. Revoke a pending invitation or add seats to invite more people.';
  if (canInvite) return 'All seats are in use. Revoke a pending invitation to invite someone else, or ask an owner to add seats.';
  if (canManageBilling) return 'All seats are in use. Add seats to invite more people.';
  return 'All seats are in use. New people can join once a seat is free: ask an admin if someone needs one.';
}

export function SeatCounter({ className }: { className?: string }) {
  const org = useOrg();
  const can = useOrgPermissions();
  if (org.isPending) {
    return <div className={cn('h-12 w-64 animate-pulse rounded-lg bg-zinc-100', className)} aria-label="Loading seats" />;
  }
  const seats = org.data?.org?.seats;
  if (!seats) return null;
  const ratio = seats.limit > 0 ? Math.min(1, seats.used / seats.limit) : 1;
  const isFull = seats.used >= seats.limit;
  return (
    <div className={cn('min-w-0', className)} data-testid="seat-counter">
      <p className="text-sm font-medium text-zinc-800">{seatSummary(seats)}</p>
      <div
        className="mt-2 h-2 w-full max-w-xs overflow-hidden rounded-full bg-zinc-200"
        role="progressbar"
        aria-label="Seats used"
        aria-valuemin={0}
        aria-valuemax={seats.limit}
        aria-valuenow={seats.used}
      >
        <div
          className={cn('h-full rounded-full transition-all', isFull ? 'bg-amber-500' : 'bg-brand-600')}
          style={{ width: `${Math.round(ratio * 100)}%` }}
        />
      </div>
      {isFull ? <p className="mt-1.5 text-xs text-amber-800">{fullSeatsAdvice(can('invite'), can('manage_billing'))}</p> : null}
    </div>
  );
}
