import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import type { OrgBilling } from '../../api/types';
import { allocationResetDate } from '../../components/AllocationBalance';
import { formatUtcDate } from '../../lib/format';
import { BillingPage } from './BillingPage';

const teamBilling: OrgBilling = {
  plan: 'team',
  status: 'active',
  seats: 5,
  active_members: 3,
  pending_invites: 1,
  over_capacity: false,
  current_period_end: '2026-12-31T00:00:00.000Z',
  cancel_at_period_end: false,
  portal_available: true,
  managed_by_support: false,
  enterprise: null,
  allocation: { monthly: 5000, used: 0, remaining: 5000 },
};

const org = {
  id: 'o-1',
  name: 'Acme',
  slug: 'acme',
  tier: 'team',
  seats: { used: 4, limit: 5, active_members: 3, pending_invites: 1 },
  storage_used_bytes: 0,
  storage_limit_bytes: 5 * 1024 ** 3,
  members_without_limit: 0,
};

/** A server answering the billing page's reads; `onSeats` answers PUT /org/billing/seats. */
function billingServer(
  billing: OrgBilling,
  options: {
    permissions?: string[];
    storage?: { storage_used_bytes: number; storage_limit_bytes: number | null };
    onSeats?: (request: RecordedRequest) => { status: number; body?: unknown };
    onCheckout?: (request: RecordedRequest) => { status: number; body?: unknown };
    portalUrl?: string;
  } = {},
) {
  const permissions = options.permissions ?? ['manage_billing', 'invite'];
  return mockFetch((request) => {
    const url = new URL(request.url, 'http://roster.test');
    if (url.pathname === '/api/v1/me') {
      return {
        status: 200,
        body: {
          user: { id: 'u-me', email: 'me@example.com', name: 'Me', email_verified: true },
          org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'owner', permissions },
        },
      };
    }
    if (url.pathname === '/api/v1/org') {
      return { status: 200, body: { org, members: [], members_total: 0, members_next_cursor: null, role: 'owner', permissions } };
    }
    if (url.pathname === '/api/v1/org/billing') return { status: 200, body: billing };
    if (url.pathname === '/api/v1/org/storage') {
      return { status: 200, body: options.storage ?? { storage_used_bytes: 1024 ** 3, storage_limit_bytes: 5 * 1024 ** 3 } };
    }
    if (url.pathname === '/api/v1/org/billing/seats' && request.method === 'PUT' && options.onSeats) {
      return options.onSeats(request);
    }
    if (url.pathname === '/api/v1/billing/portal' && request.method === 'POST' && options.portalUrl) {
      return { status: 200, body: { url: options.portalUrl } };
    }
    if (url.pathname === '/api/v1/billing/checkout' && request.method === 'POST' && options.onCheckout) {
      return options.onCheckout(request);
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

describe('BillingPage', () => {
  it('shows plan, status, seats, counts, renewal, the storage bar and the portal button for a Team org', async () => {
    billingServer(teamBilling);
    renderWithProviders(<BillingPage />);
    await screen.findByRole('heading', { name: 'Subscription' });
    expect(screen.getByText('Active')).toBeInTheDocument();
    expect(screen.getByText(/^Renews on/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Manage billing' })).toBeInTheDocument();
    expect(screen.getByLabelText('Number of seats')).toHaveValue(5);
    expect(await screen.findByText('1.0 GiB of 5.0 GiB used')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Storage used' })).toHaveAttribute('aria-valuenow', '20');
    expect(screen.queryByRole('note')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says so when the portal is this very page (the local billing provider), instead of reloading it', async () => {
    window.history.pushState({}, '', '/settings/billing');
    billingServer(teamBilling, { portalUrl: `${window.location.origin}/settings/billing?scope=org` });
    renderWithProviders(<BillingPage />, { route: '/settings/billing' });
    await userEvent.click(await screen.findByRole('button', { name: 'Manage billing' }));
    const notice = (await screen.findByText('Billing is managed on this page')).closest('[role="note"]');
    expect(notice).toHaveTextContent('This server uses no payment provider');
    expect(window.location.pathname).toBe('/settings/billing');
  });

  it('regression: also when PUBLIC_URL puts a path before the billing page', async () => {
    const assign = vi.fn();
    vi.spyOn(window, 'location', 'get').mockReturnValue({ ...window.location, assign, origin: window.location.origin });
    billingServer(teamBilling, { portalUrl: 'https://roster.example/roster/settings/billing?scope=org' });
    renderWithProviders(<BillingPage />, { route: '/settings/billing' });
    await userEvent.click(await screen.findByRole('button', { name: 'Manage billing' }));
    expect(await screen.findByText('Billing is managed on this page')).toBeInTheDocument();
    expect(assign).not.toHaveBeenCalled();
  });

  it('regression: an active Team plan without a billing period (the local provider) shows no "Renewal —"', async () => {
    billingServer({ ...teamBilling, current_period_end: null });
    renderWithProviders(<BillingPage />);
    await screen.findByRole('heading', { name: 'Subscription' });
    expect(screen.getByText('Active')).toBeInTheDocument();
    expect(screen.queryByText('Renewal')).toBeNull();
    expect(screen.queryByText('—')).toBeNull();
  });

  it('says when the subscription cancels at period end, and hides the portal button when unavailable', async () => {
    billingServer({ ...teamBilling, cancel_at_period_end: true, portal_available: false });
    renderWithProviders(<BillingPage />);
    expect(await screen.findByText(/^Cancels at period end/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Manage billing' })).toBeNull();
  });

  it('shows the past-due banner pointing to the portal', async () => {
    billingServer({ ...teamBilling, status: 'past_due' });
    renderWithProviders(<BillingPage />);
    const banner = await screen.findByRole('alert');
    expect(banner).toHaveTextContent('Payment failed');
    expect(banner).toHaveTextContent('Update your payment method in the billing portal');
    expect(screen.getByText('Payment failed', { selector: 'span' })).toBeInTheDocument();
  });

  it('shows the over-capacity banner: invitations and acceptances are refused until seats are raised', async () => {
    billingServer({ ...teamBilling, seats: 3, active_members: 3, pending_invites: 2, over_capacity: true });
    renderWithProviders(<BillingPage />);
    const banner = await screen.findByRole('note');
    expect(banner).toHaveTextContent('More members than seats');
    expect(banner).toHaveTextContent('3 members and 2 pending invitations hold more than your 3 seats');
    expect(banner).toHaveTextContent('New invitations and acceptances are refused until seats are raised or members leave.');
  });

  it('shows the canceled banner and no seat control', async () => {
    billingServer({ ...teamBilling, status: 'canceled', seats: 0, portal_available: false });
    renderWithProviders(<BillingPage />);
    const banner = await screen.findByRole('note');
    expect(banner).toHaveTextContent('Subscription canceled');
    expect(banner).toHaveTextContent('Your members and data stay, but there are no seats to invite into');
    expect(screen.queryByLabelText('Number of seats')).toBeNull();
  });

  it('lets a canceled Team org subscribe again for at least the seats its members and invitations hold', async () => {
    const requests = billingServer(
      { ...teamBilling, status: 'canceled', seats: 0, active_members: 3, pending_invites: 1, portal_available: false },
      {
        // Someone was invited since the page loaded: the server counts one more.
        onCheckout: () => ({
          status: 409,
          body: { error: { code: 'seats_below_usage', message: 'Too few.', details: { active_members: 3, pending_invites: 2 } } },
        }),
      },
    );
    renderWithProviders(<BillingPage />);
    const seats = await screen.findByLabelText('Seats for the new subscription');
    expect(seats).toHaveValue(4);
    await userEvent.clear(seats);
    await userEvent.type(seats, '2');
    await userEvent.click(screen.getByRole('button', { name: 'Subscribe again' }));
    // Below what the page knows members and invitations hold: refused here, never priced.
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'You have 3 members and 1 pending invitation; choose at least 4 seats.',
    );
    expect(screen.queryByRole('alertdialog')).toBeNull();
    await userEvent.clear(seats);
    expect(screen.queryByRole('alert')).toBeNull();
    await userEvent.type(seats, '4');
    await userEvent.click(screen.getByRole('button', { name: 'Subscribe again' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Subscribe to the Team plan?' });
    expect(within(confirm).getByTestId('checkout-total')).toHaveTextContent('4 seats × $14.99 = $59.96 per month');
    expect(requests.filter((request) => request.method === 'POST')).toEqual([]);
    await userEvent.click(within(confirm).getByRole('button', { name: 'Confirm and check out' }));
    expect(await screen.findByText('You have 3 members and 2 pending invitations; choose at least 5 seats.')).toBeInTheDocument();
    const checkout = requests.find((request) => request.url.endsWith('/api/v1/billing/checkout'));
    expect(checkout?.body).toEqual({ plan: 'team', seats: 4, scope: 'org' });
  });

  it('shows the Enterprise card with no seat control and no portal button, and unlimited storage', async () => {
    billingServer(
      {
        ...teamBilling,
        plan: 'enterprise',
        seats: 25,
        portal_available: true,
        managed_by_support: true,
        enterprise: { seats: 25, active_members: 3 },
      },
      { storage: { storage_used_bytes: 2048, storage_limit_bytes: null } },
    );
    renderWithProviders(<BillingPage />);
    await screen.findByRole('heading', { name: 'Enterprise plan' });
    expect(screen.getByText('Managed by our team — contact support to change seats.')).toBeInTheDocument();
    expect(screen.getByText('25')).toBeInTheDocument();
    expect(screen.queryByLabelText('Number of seats')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Update seats' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Manage billing' })).toBeNull();
    expect(await screen.findByText('2.0 KiB used · Unlimited')).toBeInTheDocument();
    expect(screen.queryByRole('progressbar', { name: 'Storage used' })).toBeNull();
  });

  it('regression: refuses seats below active members + pending invitations before pricing them, and clears the message on edit', async () => {
    const requests = billingServer(teamBilling, { onSeats: () => ({ status: 500 }) });
    renderWithProviders(<BillingPage />);
    const input = await screen.findByLabelText('Number of seats');
    expect(input).toHaveAccessibleDescription(/At least 4 seats: one for each member and pending invitation\./);
    await userEvent.clear(input);
    await userEvent.type(input, '3');
    await userEvent.click(screen.getByRole('button', { name: 'Update seats' }));
    // 3 active members and 1 pending invitation: the server would answer 409 seats_below_usage.
    const refusal = await screen.findByRole('alert');
    expect(refusal).toHaveTextContent('You have 3 members and 1 pending invitation; choose at least 4 seats.');
    expect(input).toHaveAttribute('aria-describedby', refusal.id);
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(screen.queryByText(/New monthly price/)).toBeNull();
    await userEvent.type(input, '0');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(requests.filter((request) => request.method === 'PUT')).toEqual([]);
  });

  it('sends the new seat count and shows the server’s reason when it is below active + pending there (an invitation since)', async () => {
    const requests = billingServer(teamBilling, {
      onSeats: () => ({
        status: 409,
        body: {
          error: {
            code: 'seats_below_usage',
            message: 'You have 3 members and 2 pending invitations; choose at least 5 seats or free some first.',
            details: { active_members: 3, pending_invites: 2 },
          },
        },
      }),
    });
    renderWithProviders(<BillingPage />);
    const input = await screen.findByLabelText('Number of seats');
    await userEvent.clear(input);
    await userEvent.type(input, '4');
    await userEvent.click(screen.getByRole('button', { name: 'Update seats' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Change seats' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    const refusal = await screen.findByRole('alert');
    expect(refusal).toHaveTextContent('You have 3 members and 2 pending invitations; choose at least 5 seats.');
    expect(input).toHaveAttribute('aria-describedby', refusal.id);
    const put = requests.find((request) => request.method === 'PUT');
    expect(put?.url).toBe('/api/v1/org/billing/seats');
    expect(put?.body).toEqual({ seats: 4 });
  });

  it('offers no seat form on a Team plan that support manages, and says whom to contact', async () => {
    billingServer({ ...teamBilling, managed_by_support: true, portal_available: false });
    renderWithProviders(<BillingPage />);
    await screen.findByRole('heading', { name: 'Subscription' });
    expect(screen.getByText('Your plan is managed by Roster support: contact support to change seats.')).toBeInTheDocument();
    expect(screen.queryByLabelText('Number of seats')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Update seats' })).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Enterprise plan' })).toBeNull();
  });

  it('refetches billing after a seat change and confirms it', async () => {
    let billing = teamBilling;
    const requests = billingServer(teamBilling, {
      onSeats: (request) => {
        billing = { ...teamBilling, seats: (request.body as { seats: number }).seats };
        return { status: 200, body: { billing } };
      },
    });
    renderWithProviders(<BillingPage />);
    const input = await screen.findByLabelText('Number of seats');
    await userEvent.clear(input);
    await userEvent.type(input, '8');
    await userEvent.click(screen.getByRole('button', { name: 'Update seats' }));
    // A costly change: confirmed first, with old → new seats and the new monthly price.
    const confirm = await screen.findByRole('alertdialog', { name: 'Change seats from 5 to 8?' });
    expect(within(confirm).getByTestId('seat-change')).toHaveTextContent('5 → 8 seats');
    expect(confirm).toHaveTextContent('New monthly price: 8 seats × $14.99 = $119.92 per month.');
    expect(requests.filter((request) => request.method === 'PUT')).toEqual([]);
    await userEvent.click(within(confirm).getByRole('button', { name: 'Change seats' }));
    expect(await screen.findByText('Seats updated to 8')).toBeInTheDocument();
    await waitFor(() =>
      expect(requests.filter((request) => request.url === '/api/v1/org/billing').length).toBeGreaterThanOrEqual(2),
    );
    expect(requests.filter((request) => request.url === '/api/v1/org/storage').length).toBeGreaterThanOrEqual(2);
  });

  it('shows nothing of billing without manage_billing, and does not ask for it', async () => {
    const requests = billingServer(teamBilling, { permissions: ['invite'] });
    renderWithProviders(<BillingPage />);
    expect(await screen.findByText('Only owners and admins manage billing.')).toBeInTheDocument();
    await screen.findByText('1.0 GiB of 5.0 GiB used');
    expect(requests.some((request) => request.url === '/api/v1/org/billing')).toBe(false);
    expect(screen.queryByLabelText('Number of seats')).toBeNull();
  });

  it('shows the usage allocation: used of monthly with a bar, what remains, the reset date and the Team note', async () => {
    billingServer({ ...teamBilling, allocation: { monthly: 5000, used: 1250, remaining: 3750 } });
    renderWithProviders(<BillingPage />);
    const card = (await screen.findByRole('heading', { name: 'Usage allocation this month' })).closest('section');
    expect(card).not.toBeNull();
    const allocation = within(card as HTMLElement);
    expect(card).toHaveTextContent('1,250 of 5,000 credits used');
    expect(allocation.getByRole('progressbar', { name: 'Organization allocation used' })).toHaveAttribute('aria-valuenow', '25');
    expect(allocation.getByText('Remaining').nextSibling).toHaveTextContent('3,750');
    expect(allocation.getByText('Resets on').nextSibling).toHaveTextContent(`${formatUtcDate(allocationResetDate())} (UTC)`);
    expect(card).toHaveTextContent('Team plans include credits for each seat: adding seats raises the allocation.');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows an unlimited allocation without a bar', async () => {
    billingServer({
      ...teamBilling,
      plan: 'enterprise',
      managed_by_support: true,
      enterprise: { seats: 25, active_members: 3 },
      allocation: { monthly: null, used: 42000, remaining: null },
    });
    renderWithProviders(<BillingPage />);
    const card = (await screen.findByRole('heading', { name: 'Usage allocation this month' })).closest('section') as HTMLElement;
    expect(card).toHaveTextContent('42,000 credits used · Unlimited');
    expect(within(card).getByText('Remaining').nextSibling).toHaveTextContent('Unlimited');
    expect(within(card).queryByRole('progressbar')).toBeNull();
    expect(card).toHaveTextContent('Set by our team — contact support to change it.');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows the exhausted banner when nothing remains: usage is refused until the reset or more seats', async () => {
    billingServer({ ...teamBilling, allocation: { monthly: 5000, used: 5000, remaining: 0 } });
    renderWithProviders(<BillingPage />);
    const banner = await screen.findByRole('alert');
    expect(banner).toHaveTextContent('Usage allocation used up');
    expect(banner).toHaveTextContent(
      `Members’ usage is refused until the month resets on ${formatUtcDate(allocationResetDate())} (UTC) or seats are added.`,
    );
    expect(screen.getByRole('progressbar', { name: 'Organization allocation used' })).toHaveAttribute('aria-valuenow', '100');
  });
});

describe('allocationResetDate', () => {
  it('is the first day of the next UTC month, across a year end', () => {
    expect(allocationResetDate(new Date('2026-03-15T12:00:00Z')).toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(allocationResetDate(new Date('2026-12-31T23:59:59Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
});
