import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders } from '../../test/render';
import type { OrgAllocation } from '../../api/types';
import { allocationResetDate } from '../../components/AllocationBalance';
import { formatUtcDate } from '../../lib/format';
import { UsagePage } from './UsagePage';

const totals = { used: 0, limit: null, by_activity: {} };
const unlimited = { monthly: null, used: 0, remaining: null };

/** A server answering the usage page's reads for an admin (view_org_usage and set_usage_limits unless given). */
function usageServer(
  allocation: OrgAllocation,
  options: { membersWithoutLimit?: number; permissions?: string[]; tier?: 'team' | 'enterprise' } = {},
) {
  const permissions = options.permissions ?? ['view_org_usage', 'set_usage_limits'];
  const org = {
    id: 'o-1',
    name: 'Acme',
    slug: 'acme',
    tier: options.tier ?? 'team',
    seats: { used: 4, limit: 5, active_members: 3, pending_invites: 1 },
    storage_used_bytes: 0,
    storage_limit_bytes: 5 * 1024 ** 3,
    members_without_limit: options.membersWithoutLimit ?? 0,
  };
  return mockFetch((request) => {
    const url = new URL(request.url, 'http://roster.test');
    if (url.pathname === '/api/v1/me') {
      return {
        status: 200,
        body: {
          user: { id: 'u-me', email: 'me@example.com', name: 'Me', email_verified: true },
          org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'admin', permissions },
        },
      };
    }
    if (url.pathname === '/api/v1/org') {
      return { status: 200, body: { org, members: [], members_total: 0, members_next_cursor: null, role: 'admin', permissions } };
    }
    if (url.pathname === '/api/v1/usage') return { status: 200, body: { day: totals, month: totals, allocation } };
    if (url.pathname === '/api/v1/org/usage') {
      const period = url.searchParams.get('period') ?? 'day';
      return {
        status: 200,
        body: { period, start: '2026-05-01T00:00:00.000Z', end: '2026-06-01T00:00:00.000Z', members: [], allocation },
      };
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

const WARNING = /have no individual limit/;

describe('UsagePage: organization allocation', () => {
  it('shows the compact balance and warns that members without a limit could use what remains, linking to Members', async () => {
    usageServer({ monthly: 5000, used: 1000, remaining: 4000 }, { membersWithoutLimit: 3 });
    renderWithProviders(<UsagePage />);
    expect(await screen.findByText(/of 5,000 credits used/)).toBeInTheDocument();
    const warning = await screen.findByText(WARNING);
    const note = warning.closest('[role="note"]');
    expect(note).toHaveTextContent('Members without an individual limit');
    expect(note).toHaveTextContent(
      '3 members have no individual limit: any one of them could use the organization’s remaining 4,000 credits. Set limits on the Members page.',
    );
    expect(screen.getByRole('link', { name: 'Members page' })).toHaveAttribute('href', '/settings/members');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows no warning when every member has a limit', async () => {
    usageServer({ monthly: 5000, used: 1000, remaining: 4000 }, { membersWithoutLimit: 0 });
    renderWithProviders(<UsagePage />);
    expect(await screen.findByText(/of 5,000 credits used/)).toBeInTheDocument();
    expect(screen.queryByText(WARNING)).toBeNull();
    expect(screen.queryByRole('note')).toBeNull();
  });

  it('shows no warning for an unlimited allocation, even with members without a limit', async () => {
    usageServer({ monthly: null, used: 1000, remaining: null }, { membersWithoutLimit: 3, tier: 'enterprise' });
    renderWithProviders(<UsagePage />);
    expect(await screen.findByText(/credits used · Unlimited/)).toBeInTheDocument();
    expect(screen.queryByText(WARNING)).toBeNull();
    expect(screen.queryByRole('progressbar', { name: 'Organization allocation used' })).toBeNull();
  });

  it('turns amber at 80% used', async () => {
    usageServer({ monthly: 5000, used: 4000, remaining: 1000 }, { membersWithoutLimit: 1 });
    renderWithProviders(<UsagePage />);
    const title = await screen.findByText('80% of the organization’s allocation used');
    const note = title.closest('[role="note"]');
    expect(note).toHaveTextContent(
      '1 member has no individual limit: any one of them could use the organization’s remaining 1,000 credits.',
    );
    expect(screen.getByRole('progressbar', { name: 'Organization allocation used' }).firstElementChild).toHaveClass(
      'bg-amber-500',
    );
  });

  it('turns red at 100%: usage is refused until the reset', async () => {
    usageServer({ monthly: 5000, used: 5000, remaining: 0 }, { membersWithoutLimit: 3 });
    renderWithProviders(<UsagePage />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Usage allocation used up');
    // The member's notice is not repeated for those who see the organization card.
    expect(screen.getAllByRole('alert')).toHaveLength(1);
    expect(alert).toHaveTextContent(/Members’ usage is refused until the month resets on .* or seats are added\./);
    expect(screen.getByRole('progressbar', { name: 'Organization allocation used' }).firstElementChild).toHaveClass('bg-red-500');
  });

  it('shows no organization allocation without view_org_usage, and does not ask for it', async () => {
    const requests = usageServer({ monthly: 5000, used: 5000, remaining: 0 }, { membersWithoutLimit: 3, permissions: [] });
    renderWithProviders(<UsagePage />);
    expect(await screen.findByRole('heading', { name: 'Your usage today' })).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Organization allocation this month' })).toBeNull();
    expect(requests.some((request) => request.url.startsWith('/api/v1/org/usage'))).toBe(false);
  });
});

describe('UsagePage: usage by member', () => {
  const member = (id: string, total: number) => ({
    user_id: id,
    email: `${id}@example.com`,
    display_name: `Member ${id}`,
    status: 'active',
    total,
    by_activity: { 'api.call': total },
    limits: { daily: null, monthly: null },
  });

  it('shows the first page of members and follows next_cursor with "Load more members"', async () => {
    const requests = mockFetch((request) => {
      const url = new URL(request.url, 'http://roster.test');
      if (url.pathname === '/api/v1/me') {
        return {
          status: 200,
          body: {
            user: { id: 'u-me', email: 'me@example.com', name: 'Me', email_verified: true },
            org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'admin', permissions: ['view_org_usage'] },
          },
        };
      }
      if (url.pathname === '/api/v1/usage') return { status: 200, body: { day: totals, month: totals, allocation: unlimited } };
      if (url.pathname === '/api/v1/org/usage') {
        const second = url.searchParams.get('cursor') === 'page-2';
        return {
          status: 200,
          body: {
            period: url.searchParams.get('period') ?? 'day',
            start: '2026-05-01T00:00:00.000Z',
            end: '2026-06-01T00:00:00.000Z',
            allocation: { monthly: null, used: 0, remaining: null },
            members: second ? [member('late', 7)] : [member('early', 3)],
            next_cursor: second ? null : 'page-2',
          },
        };
      }
      return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
    });
    renderWithProviders(<UsagePage />);
    expect(await screen.findByText('early@example.com')).toBeInTheDocument();
    expect(screen.queryByText('late@example.com')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Load more members' }));
    expect(await screen.findByText('late@example.com')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Load more members' })).toBeNull();
    expect(requests.some((request) => request.url.includes('cursor=page-2') && request.url.includes('limit=50'))).toBe(true);
  });
});

describe('UsagePage: your own limits', () => {
  /** A member (no org usage) whose own totals are `day` and `month`. */
  function myUsageServer(day: unknown, month: unknown, allocation: OrgAllocation = unlimited) {
    mockFetch((request) => {
      const url = new URL(request.url, 'http://roster.test');
      if (url.pathname === '/api/v1/me') {
        return {
          status: 200,
          body: {
            user: { id: 'u-me', email: 'me@example.com', name: 'Me', email_verified: true },
            org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'member', permissions: ['create_project', 'leave_org'] },
          },
        };
      }
      if (url.pathname === '/api/v1/org') return { status: 200, body: {} };
      if (url.pathname === '/api/v1/usage') return { status: 200, body: { day, month, allocation } };
      return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
    });
  }

  it('regression: at 5 of 5 says the daily limit is reached, when it resets and whom to ask, not "close to"', async () => {
    myUsageServer(
      { used: 5, limit: 5, by_activity: { 'api.call': 5 } },
      { used: 5, limit: null, by_activity: { 'api.call': 5 } },
    );
    renderWithProviders(<UsagePage />);
    const notice = await screen.findByText(/You have reached your daily limit/);
    expect(notice).toHaveTextContent('It resets at 00:00 UTC.');
    expect(notice).toHaveTextContent('contact an organization admin');
    expect(screen.queryByText(/close to/)).toBeNull();
    expect(screen.getByRole('progressbar', { name: 'Your usage today: share of limit used' }).firstElementChild).toHaveClass(
      'bg-red-500',
    );
  });

  it('says the monthly limit is reached, resetting on the 1st at 00:00 UTC', async () => {
    myUsageServer({ used: 2, limit: null, by_activity: {} }, { used: 120, limit: 100, by_activity: { 'api.call': 120 } });
    renderWithProviders(<UsagePage />);
    const notice = await screen.findByText(/You have reached your monthly limit/);
    expect(notice).toHaveTextContent(`It resets at 00:00 UTC on the 1st (${formatUtcDate(allocationResetDate())}).`);
    expect(notice).toHaveTextContent('contact an organization admin');
  });

  it('keeps "close to your limit" for 90% and more, below the limit', async () => {
    myUsageServer(
      { used: 9, limit: 10, by_activity: { 'api.call': 9 } },
      { used: 9, limit: 1000, by_activity: { 'api.call': 9 } },
    );
    renderWithProviders(<UsagePage />);
    expect(await screen.findByText(/You are close to your daily limit/)).toHaveTextContent('Contact an organization admin');
    expect(screen.queryByText(/reached/)).toBeNull();
  });

  it('regression: a member without a limit is told when the organization’s allocation is used up, and until when', async () => {
    myUsageServer(
      { used: 7910, limit: null, by_activity: { 'ai.tokens': 7910 } },
      { used: 7910, limit: null, by_activity: { 'ai.tokens': 7910 } },
      { monthly: 10000, used: 10000, remaining: 0 },
    );
    renderWithProviders(<UsagePage />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Organization allocation used up');
    expect(alert).toHaveTextContent(
      `Your organization’s usage allocation for this month is used up: new usage is refused until ${formatUtcDate(allocationResetDate())} (UTC). Contact your organization administrator.`,
    );
    // Still no organization card for a plain member.
    expect(screen.queryByRole('heading', { name: 'Organization allocation this month' })).toBeNull();
  });

  it('gives a member a milder notice with what is left at 80% used', async () => {
    myUsageServer(totals, totals, { monthly: 10000, used: 8200, remaining: 1800 });
    renderWithProviders(<UsagePage />);
    const title = await screen.findByText('82% of the organization’s allocation used');
    expect(title.closest('[role="note"]')).toHaveTextContent('Your organization has 1,800 credits left this month');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says nothing about the allocation below 80% or when it is unlimited', async () => {
    myUsageServer(totals, totals, { monthly: 10000, used: 7000, remaining: 3000 });
    renderWithProviders(<UsagePage />);
    expect(await screen.findByRole('heading', { name: 'Your usage today' })).toBeInTheDocument();
    expect(screen.queryByRole('note')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows activity names exactly as recorded', async () => {
    myUsageServer(totals, { used: 12, limit: null, by_activity: { 'ai.tokens': 10, 'report.export': 2 } });
    renderWithProviders(<UsagePage />);
    expect(await screen.findByText('ai.tokens')).toBeInTheDocument();
    expect(screen.getByText('report.export')).toBeInTheDocument();
    expect(screen.queryByText('Ai tokens')).toBeNull();
  });
});
