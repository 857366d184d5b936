import type { ReactNode } from 'react';
import { Link } from 'react-router';
import type { OrgAllocation } from '../api/types';
import { cn } from '../lib/cn';
import { formatNumber, formatUtcDate, plural } from '../lib/format';
import { Alert } from './Feedback';

/** Share used at which the balance turns amber (the server's low-balance email is sent at 80% too). */
export const LOW_ALLOCATION_RATIO = 0.8;

/** When the monthly allocation resets: the first day of the next UTC month. */
export function allocationResetDate(now: Date = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

type Level = 'unlimited' | 'ok' | 'low' | 'exhausted';

/** How close the org is to its allocation, from the server's numbers only. */
export function allocationLevel(allocation: OrgAllocation): Level {
  if (allocation.monthly === null || allocation.remaining === null) return 'unlimited';
  if (allocation.remaining <= 0) return 'exhausted';
  if (allocation.monthly > 0 && allocation.used / allocation.monthly >= LOW_ALLOCATION_RATIO) return 'low';
  return 'ok';
}

function usedPercent(allocation: OrgAllocation): number {
  if (allocation.monthly === null) return 0;
  if (allocation.monthly <= 0) return allocation.remaining === 0 ? 100 : 0;
  return Math.round(Math.min(1, allocation.used / allocation.monthly) * 100);
}

const barColors: Record<Level, string> = {
  unlimited: 'bg-brand-600',
  ok: 'bg-brand-600',
  low: 'bg-amber-500',
  exhausted: 'bg-red-500',
};

/**
 * "12,300 of 15,000 credits used", a bar, what remains and when it resets. `compact` drops the
 * remaining/reset grid for a single line (the Usage page).
 */
export function AllocationBalance({ allocation, compact = false }: { allocation: OrgAllocation; compact?: boolean }) {
  const level = allocationLevel(allocation);
  const percent = usedPercent(allocation);
  const reset = formatUtcDate(allocationResetDate());
  const remaining = allocation.remaining === null ? 'Unlimited' : formatNumber(allocation.remaining);
  return (
    <div className="min-w-0" data-testid="allocation-balance">
      <p className="text-sm text-zinc-600">
        <span className={cn('font-semibold text-zinc-900', compact ? 'text-lg' : 'text-2xl')}>
          {formatNumber(allocation.used)}
        </span>
        {allocation.monthly === null ? ' credits used · Unlimited' : ` of ${formatNumber(allocation.monthly)} credits used`}
      </p>
      {allocation.monthly !== null ? (
        <div
          className="mt-2 h-2 w-full overflow-hidden rounded-full bg-zinc-200"
          role="progressbar"
          aria-label="Organization allocation used"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
          aria-valuetext={`${formatNumber(allocation.used)} of ${formatNumber(allocation.monthly)} credits`}
        >
          <div className={cn('h-full rounded-full', barColors[level])} style={{ width: `${percent}%` }} />
        </div>
      ) : null}
      {compact ? (
        <p className="mt-2 text-xs text-zinc-500">
          Remaining: <span className="font-medium text-zinc-700">{remaining}</span> · Resets on {reset} (UTC)
        </p>
      ) : (
        <dl className="mt-4 grid grid-cols-2 gap-4 text-sm">
          <div>
            <dt className="text-zinc-500">Remaining</dt>
            <dd className="mt-1 font-medium text-zinc-900">{remaining}</dd>
          </div>
          <div>
            <dt className="text-zinc-500">Resets on</dt>
            <dd className="mt-1 font-medium text-zinc-900">{reset} (UTC)</dd>
          </div>
        </dl>
      )}
    </div>
  );
}

/** The banner for a used-up allocation: every member's usage is refused until the reset. */
export function AllocationExhaustedAlert({
  allocation,
  plan,
}: {
  allocation: OrgAllocation;
  plan: 'team' | 'enterprise' | null;
}) {
  if (allocationLevel(allocation) !== 'exhausted') return null;
  const reset = formatUtcDate(allocationResetDate());
  const raise = plan === 'team' ? 'or seats are added' : 'or support raises the allocation';
  return (
    <Alert tone="error" title="Usage allocation used up">
      {`Members’ usage is refused until the month resets on ${reset} (UTC) ${raise}.`}
    </Alert>
  );
}

/**
 * What any member is told about the org's allocation on their own Usage page (a member without an
 * individual limit is refused with 429 org_allocation_exhausted once it is used up): red when used
 * up, amber at 80% used, nothing otherwise or for an unlimited allocation.
 */
export function MemberAllocationNotice({ allocation, now = new Date() }: { allocation: OrgAllocation; now?: Date }) {
  const level = allocationLevel(allocation);
  const reset = formatUtcDate(allocationResetDate(now));
  if (level === 'exhausted') {
    return (
      <Alert tone="error" title="Organization allocation used up">
        {`Your organization’s usage allocation for this month is used up: new usage is refused until ${reset} (UTC). Contact your organization administrator.`}
      </Alert>
    );
  }
  if (level === 'low') {
    return (
      <Alert tone="warning" title={`${usedPercent(allocation)}% of the organization’s allocation used`}>
        {`Your organization has ${plural(allocation.remaining ?? 0, 'credit')} left this month, shared by every member, until it resets on ${reset} (UTC).`}
      </Alert>
    );
  }
  return null;
}

/**
 * The Usage page's warning: amber when members without an individual limit could use what is
 * left (and at 80% used), red once the allocation is used up. Nothing for an unlimited allocation.
 */
export function AllocationWarning({
  allocation,
  membersWithoutLimit,
  plan,
  canSetLimits,
}: {
  allocation: OrgAllocation;
  membersWithoutLimit: number;
  plan: 'team' | 'enterprise' | null;
  canSetLimits: boolean;
}) {
  const level = allocationLevel(allocation);
  if (level === 'unlimited') return null;
  if (level === 'exhausted') return <AllocationExhaustedAlert allocation={allocation} plan={plan} />;
  const remaining = allocation.remaining ?? 0;
  const membersNote: ReactNode =
    membersWithoutLimit > 0 ? (
      <>
        {`${plural(membersWithoutLimit, 'member has', 'members have')} no individual limit: any one of them could use the organization’s remaining ${plural(remaining, 'credit')}.`}{' '}
        {canSetLimits ? (
          <>
            Set limits on the{' '}
            <Link to="/settings/members" className="font-medium underline underline-offset-2">
              Members page
            </Link>
            .
          </>
        ) : (
          'An owner or admin can set limits on the Members page.'
        )}
      </>
    ) : null;
  if (level === 'low') {
    return (
      <Alert tone="warning" title={`${usedPercent(allocation)}% of the organization’s allocation used`}>
        {membersNote ?? `${plural(remaining, 'credit')} left until the month resets.`}
      </Alert>
    );
  }
  if (!membersNote) return null;
  return (
    <Alert tone="warning" title="Members without an individual limit">
      {membersNote}
    </Alert>
  );
}
