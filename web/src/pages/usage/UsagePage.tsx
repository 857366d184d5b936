import { useMemo, useState } from 'react';
import { ArrowRight, BarChart3 } from 'lucide-react';
import { useMe, useMyUsage, useOrg, useOrgUsage, useOrgUsagePages } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { MemberUsage, UsagePeriod, UsageTotals } from '../../api/types';
import {
  AllocationBalance,
  AllocationWarning,
  MemberAllocationNotice,
  allocationResetDate,
} from '../../components/AllocationBalance';
import { Button } from '../../components/Button';
import { EmailText } from '../../components/EmailText';
import { Card, CardHeader, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { useOrgPermissions } from '../../components/permissions';
import { cn } from '../../lib/cn';
import { formatDate, formatNumber, formatUtcDate } from '../../lib/format';

const PALETTE = ['#4f46e5', '#0ea5e9', '#10b981', '#f59e0b', '#ec4899', '#8b5cf6', '#64748b'];

function colorFor(activities: string[], activity: string) {
  const index = activities.indexOf(activity);
  return PALETTE[(index >= 0 ? index : 0) % PALETTE.length] ?? '#4f46e5';
}

export function UsagePage() {
  const can = useOrgPermissions();
  const canSeeOrg = can('view_org_usage');
  // Until the permissions are known, a member's allocation notice would flash up for an admin too.
  const arePermissionsKnown = useMe().data !== undefined;
  return (
    <div className="space-y-6">
      <PageHeader
        title="Usage"
        description={
          canSeeOrg
            ? 'Usage per member and activity type, today and this month (UTC).'
            : 'Your usage today and this month (UTC), counted across all activity types.'
        }
      />
      <MyUsageCards showAllocation={arePermissionsKnown && !canSeeOrg} />
      {canSeeOrg ? <OrgAllocationCard canSetLimits={can('set_usage_limits')} /> : null}
      {canSeeOrg ? <OrgUsageCard /> : null}
    </div>
  );
}

/**
 * The member's own totals; `showAllocation` adds the org allocation's state (used up, or 80% used)
 * for members who do not see the organization allocation card below.
 */
function MyUsageCards({ showAllocation }: { showAllocation: boolean }) {
  const usage = useMyUsage();
  if (usage.isPending) return <LoadingBlock label="Loading your usage…" />;
  if (usage.isError) return <ErrorState message={errorMessage(usage.error)} onRetry={() => void usage.refetch()} />;
  return (
    <div className="space-y-3">
      {showAllocation ? <MemberAllocationNotice allocation={usage.data.allocation} /> : null}
      <div className="grid gap-6 md:grid-cols-2">
        <UsageTotalsCard title="Your usage today" totals={usage.data.day} period="day" />
        <UsageTotalsCard title="Your usage this month" totals={usage.data.month} period="month" />
      </div>
    </div>
  );
}

/**
 * What a member at or near their own limit is told: at it, the server refuses any more usage
 * (429 usage_limit_exceeded) until the UTC period resets, so "close to" would be wrong.
 */
export function limitNotice(totals: UsageTotals, period: UsagePeriod, now: Date = new Date()): string | null {
  if (totals.limit === null) return null;
  const periodName = period === 'day' ? 'daily' : 'monthly';
  if (totals.used >= totals.limit) {
    const reset =
      period === 'day'
        ? 'It resets at 00:00 UTC.'
        : `It resets at 00:00 UTC on the 1st (${formatUtcDate(allocationResetDate(now))}).`;
    return `You have reached your ${periodName} limit: more usage is refused until it resets. ${reset} To use more before then, contact an organization admin.`;
  }
  if (totals.limit > 0 && totals.used / totals.limit >= 0.9) {
    return `You are close to your ${periodName} limit. Contact an organization admin if you need more.`;
  }
  return null;
}

function UsageTotalsCard({ title, totals, period }: { title: string; totals: UsageTotals; period: UsagePeriod }) {
  const activities = Object.keys(totals.by_activity).sort();
  // A limit of 0 allows nothing: the bar is full.
  const ratio = totals.limit === null ? 0 : totals.limit === 0 ? 1 : Math.min(1, totals.used / totals.limit);
  const isAtLimit = totals.limit !== null && totals.used >= totals.limit;
  const notice = limitNotice(totals, period);
  return (
    <Card>
      <CardHeader title={title} />
      <div className="px-5 py-5">
        <p className="text-sm text-zinc-600">
          <span className="text-2xl font-semibold text-zinc-900">{formatNumber(totals.used)}</span>
          {totals.limit !== null ? ` of ${formatNumber(totals.limit)} allowed` : ' used · no individual limit'}
        </p>
        {totals.limit !== null ? (
          <div
            className="mt-3 h-2 overflow-hidden rounded-full bg-zinc-200"
            role="progressbar"
            aria-label={`${title}: share of limit used`}
            aria-valuemin={0}
            aria-valuemax={totals.limit}
            aria-valuenow={totals.used}
          >
            <div
              className={cn('h-full rounded-full', isAtLimit ? 'bg-red-500' : notice ? 'bg-amber-500' : 'bg-brand-600')}
              style={{ width: `${ratio * 100}%` }}
            />
          </div>
        ) : null}
        {notice ? <p className={cn('mt-2 text-xs', isAtLimit ? 'text-red-700' : 'text-amber-800')}>{notice}</p> : null}
        {activities.length > 0 ? (
          <ul className="mt-4 space-y-2">
            {activities.map((activity) => {
              const value = totals.by_activity[activity] ?? 0;
              const share = totals.used > 0 ? value / totals.used : 0;
              return (
                <li key={activity} className="text-sm">
                  <div className="flex justify-between gap-2 text-zinc-700">
                    <span>{activity}</span>
                    <span className="tabular-nums">{formatNumber(value)}</span>
                  </div>
                  <div className="mt-1 h-1.5 overflow-hidden rounded-full bg-zinc-100" aria-hidden>
                    <div
                      className="h-full rounded-full"
                      style={{ width: `${share * 100}%`, background: colorFor(activities, activity) }}
                    />
                  </div>
                </li>
              );
            })}
          </ul>
        ) : (
          <p className="mt-4 text-sm text-zinc-500">No activity recorded yet.</p>
        )}
      </div>
    </Card>
  );
}

/** The org's allocation this month (compact), and the warning when members without a limit could use it all. */
function OrgAllocationCard({ canSetLimits }: { canSetLimits: boolean }) {
  const usage = useOrgUsage('month', true);
  const org = useOrg();
  const current = org.data?.org;
  // The warning needs members_without_limit from GET /org: wait for it so it does not pop in late.
  if (usage.isPending || org.isPending) return <LoadingBlock label="Loading the organization’s allocation…" />;
  if (usage.isError) return <ErrorState message={errorMessage(usage.error)} onRetry={() => void usage.refetch()} />;
  return (
    <div className="space-y-3">
      <Card>
        <CardHeader title="Organization allocation this month" description="Every member’s usage draws from it." />
        <div className="px-5 py-4">
          <AllocationBalance allocation={usage.data.allocation} compact />
        </div>
      </Card>
      <AllocationWarning
        allocation={usage.data.allocation}
        membersWithoutLimit={current?.members_without_limit ?? 0}
        plan={current?.tier ?? null}
        canSetLimits={canSetLimits}
      />
    </div>
  );
}

function OrgUsageCard() {
  const [period, setPeriod] = useState<UsagePeriod>('day');
  const usage = useOrgUsagePages(period);
  const first = usage.data?.pages[0];
  // Sorted by total among the pages loaded so far; "Load more" follows the cursor.
  const members = useMemo(
    () => (usage.data?.pages.flatMap((page) => page.members) ?? []).sort((a, b) => b.total - a.total),
    [usage.data],
  );
  const activities = useMemo(() => [...new Set(members.flatMap((member) => Object.keys(member.by_activity)))].sort(), [members]);
  return (
    <Card>
      <CardHeader
        title="Usage by member"
        description={first ? `Since ${formatDate(first.start)}` : undefined}
        action={
          <div className="inline-flex rounded-lg bg-zinc-100 p-0.5" role="group" aria-label="Period">
            {(['day', 'month'] as const).map((option) => (
              <button
                key={option}
                type="button"
                aria-pressed={period === option}
                onClick={() => setPeriod(option)}
                className={cn(
                  'rounded-md px-3 py-1 text-sm font-medium',
                  period === option ? 'bg-white text-zinc-900 shadow-sm' : 'text-zinc-600 hover:text-zinc-900',
                )}
              >
                {option === 'day' ? 'Today' : 'This month'}
              </button>
            ))}
          </div>
        }
      />
      {usage.isPending ? (
        <LoadingBlock label="Loading usage…" />
      ) : usage.isError ? (
        <ErrorState message={errorMessage(usage.error)} onRetry={() => void usage.refetch()} />
      ) : !usage.hasNextPage && members.every((member) => member.total === 0) ? (
        <EmptyState title="No usage recorded yet" icon={<BarChart3 className="size-5" />}>
          Usage appears here as soon as members use the product.
        </EmptyState>
      ) : (
        <>
          <UsageChart members={members} activities={activities} period={period} />
          <UsageTable members={members} activities={activities} period={period} />
        </>
      )}
      {usage.hasNextPage ? (
        <div className="flex flex-wrap items-center justify-center gap-3 border-t border-zinc-100 px-5 py-3">
          <p className="text-sm text-zinc-600">Showing {formatNumber(members.length)} members</p>
          <Button variant="secondary" size="sm" onClick={() => void usage.fetchNextPage()} isLoading={usage.isFetchingNextPage}>
            Load more members
          </Button>
        </div>
      ) : null}
    </Card>
  );
}

function limitFor(member: MemberUsage, period: UsagePeriod) {
  return period === 'day' ? member.limits.daily : member.limits.monthly;
}

function UsageChart({ members, activities, period }: { members: MemberUsage[]; activities: string[]; period: UsagePeriod }) {
  const max = Math.max(1, ...members.map((member) => Math.max(member.total, limitFor(member, period) ?? 0)));
  return (
    <figure className="border-b border-zinc-100 px-5 py-5">
      <figcaption className="mb-3 flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-600">
        {activities.map((activity) => (
          <span key={activity} className="inline-flex items-center gap-1.5">
            <span className="size-2.5 rounded-sm" style={{ background: colorFor(activities, activity) }} aria-hidden />
            {activity}
          </span>
        ))}
      </figcaption>
      <ul className="space-y-3" aria-label="Usage chart">
        {members.slice(0, 12).map((member) => {
          const limit = limitFor(member, period);
          return (
            <li
              key={member.user_id}
              className="grid grid-cols-[minmax(0,8rem)_1fr_auto] items-center gap-3 text-sm sm:grid-cols-[minmax(0,12rem)_1fr_auto]"
            >
              <span className="truncate text-zinc-700" title={member.email}>
                {member.display_name || member.email}
              </span>
              <span className="relative h-4 overflow-hidden rounded bg-zinc-100" aria-hidden>
                <span className="flex h-full">
                  {activities.map((activity) => {
                    const value = member.by_activity[activity] ?? 0;
                    return value > 0 ? (
                      <span
                        key={activity}
                        style={{ width: `${(value / max) * 100}%`, background: colorFor(activities, activity) }}
                      />
                    ) : null;
                  })}
                </span>
                {limit !== null ? (
                  <span
                    className="absolute inset-y-0 w-0.5 bg-red-500"
                    style={{ left: `${(limit / max) * 100}%` }}
                    title="Limit"
                  />
                ) : null}
              </span>
              <span className="text-right text-xs text-zinc-500 tabular-nums">
                {formatNumber(member.total)}
                {limit !== null ? ` / ${formatNumber(limit)}` : ''}
              </span>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}

function UsageTable({ members, activities, period }: { members: MemberUsage[]; activities: string[]; period: UsagePeriod }) {
  return (
    <div>
      {/* On a phone the limit column sits past the right edge: say the table scrolls. */}
      <p className="flex items-center gap-1.5 px-5 pt-3 text-xs text-zinc-500 sm:hidden" data-testid="usage-scroll-hint">
        Scroll the table sideways for every column, including the {period === 'day' ? 'daily' : 'monthly'} limit
        <ArrowRight className="size-3.5 shrink-0" aria-hidden />
      </p>
      <div className="overflow-x-auto" role="region" aria-label="Usage by member (scrolls sideways)" tabIndex={0}>
        <table className="w-full text-left text-sm">
          <caption className="sr-only">Usage by member and activity</caption>
          <thead className="bg-zinc-50 text-xs font-medium tracking-wide text-zinc-500 uppercase">
            <tr>
              <th scope="col" className="sticky left-0 bg-zinc-50 px-5 py-2.5">
                Member
              </th>
              {activities.map((activity) => (
                <th key={activity} scope="col" className="px-4 py-2.5 text-right whitespace-nowrap normal-case">
                  {activity}
                </th>
              ))}
              <th scope="col" className="px-4 py-2.5 text-right">
                Total
              </th>
              <th scope="col" className="px-5 py-2.5 text-right whitespace-nowrap">
                {period === 'day' ? 'Daily limit' : 'Monthly limit'}
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-100">
            {members.map((member) => {
              const limit = limitFor(member, period);
              return (
                <tr key={member.user_id}>
                  <td className="sticky left-0 max-w-40 bg-white px-5 py-2.5 shadow-[1px_0_0_var(--color-zinc-100)] sm:max-w-none">
                    <p className="font-medium break-words text-zinc-900">{member.display_name || member.email}</p>
                    <EmailText email={member.email} className="text-xs text-zinc-500" />
                  </td>
                  {activities.map((activity) => (
                    <td key={activity} className="px-4 py-2.5 text-right text-zinc-700 tabular-nums">
                      {formatNumber(member.by_activity[activity] ?? 0)}
                    </td>
                  ))}
                  <td className="px-4 py-2.5 text-right font-medium text-zinc-900 tabular-nums">{formatNumber(member.total)}</td>
                  <td className="px-5 py-2.5 text-right text-zinc-600 tabular-nums">
                    {limit === null ? <span className="text-zinc-500">No limit</span> : formatNumber(limit)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
