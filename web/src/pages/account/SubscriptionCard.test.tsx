import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../../AppRoutes';
import type { PersonalSubscription } from '../../api/types';
import { formatDate } from '../../lib/format';
import { renderWithProviders } from '../../test/render';
import { aSubscription, accountServer, writes } from './accountTestServer';

function renderAccount() {
  renderWithProviders(<AppRoutes />, { route: '/account' });
}

/** The Subscription card, once GET /me/subscription has answered with one. */
async function subscriptionCard() {
  const heading = await screen.findByRole('heading', { name: 'Subscription' });
  return within(heading.closest('section') as HTMLElement);
}

function statOf(card: Awaited<ReturnType<typeof subscriptionCard>>, label: string) {
  return card.getByText(label, { selector: 'dt' }).nextSibling;
}

describe('SubscriptionCard', () => {
  it('is not shown to a user without a personal subscription', async () => {
    const { requests } = accountServer({ subscription: null });
    renderAccount();

    // The tokens' reply is read after the subscription's, which was asked in the same render.
    expect(await screen.findByText('No API tokens yet')).toBeInTheDocument();
    expect(requests.some((request) => request.url === '/api/v1/me/subscription')).toBe(true);
    expect(screen.queryByRole('heading', { name: 'Subscription' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Manage billing' })).toBeNull();
  });

  it('shows the plan, seats, status and renewal of an active subscription', async () => {
    const periodEnd = '2026-08-01T00:00:00.000Z';
    accountServer({ subscription: aSubscription({ seats: 7, current_period_end: periodEnd }) });
    renderAccount();

    const card = await subscriptionCard();
    expect(statOf(card, 'Plan')).toHaveTextContent('Team');
    expect(statOf(card, 'Seats')).toHaveTextContent('7');
    expect(statOf(card, 'Status')).toHaveTextContent('Active');
    expect(statOf(card, 'Renewal')).toHaveTextContent(`Renews on ${formatDate(periodEnd)}`);
    expect(card.getByText(/the organization you create takes it over/)).toBeInTheDocument();
    expect(card.queryByRole('alert')).toBeNull();
  });

  it('says plainly that the last payment failed (past_due), and that it cancels at period end', async () => {
    const periodEnd = '2026-08-01T00:00:00.000Z';
    accountServer({
      subscription: aSubscription({ status: 'past_due', current_period_end: periodEnd, cancel_at_period_end: true }),
    });
    renderAccount();

    const card = await subscriptionCard();
    const alert = card.getByRole('alert');
    expect(alert).toHaveTextContent('Payment failed');
    expect(alert).toHaveTextContent('The last payment did not go through. Update your payment method in the billing portal');
    expect(statOf(card, 'Status')).toHaveTextContent('Payment failed');
    expect(statOf(card, 'Renewal')).toHaveTextContent(`Cancels at period end (${formatDate(periodEnd)})`);
    expect(card.getByRole('button', { name: 'Manage billing' })).toBeInTheDocument();
  });

  it('says a canceled subscription pays for nothing, and offers to choose a plan again', async () => {
    accountServer({ subscription: aSubscription({ status: 'canceled', portal_available: false }) });
    renderAccount();

    const card = await subscriptionCard();
    const notice = card.getByRole('note');
    expect(notice).toHaveTextContent('Subscription canceled');
    expect(notice).toHaveTextContent('It pays for nothing any more.');
    expect(within(notice).getByRole('link', { name: 'choose a plan again' })).toHaveAttribute('href', '/create-org');
    expect(statOf(card, 'Status')).toHaveTextContent('Canceled');
    // No billing period known (the local provider): no renewal to tell.
    expect(card.queryByText('Renewal')).toBeNull();
    expect(card.queryByText(/takes it over/)).toBeNull();
    // portal_available false: nothing to manage at the provider.
    expect(card.queryByRole('button', { name: 'Manage billing' })).toBeNull();
  });

  it('opens the portal of the personal subscription, and says so when the server has none (local provider)', async () => {
    const subscription: PersonalSubscription = aSubscription();
    const { requests } = accountServer({ subscription });
    renderAccount();
    const before = window.location.href;

    const card = await subscriptionCard();
    await userEvent.click(card.getByRole('button', { name: 'Manage billing' }));

    expect(await card.findByText('No payment portal on this server')).toBeInTheDocument();
    expect(writes(requests)).toEqual([
      expect.objectContaining({ method: 'POST', url: '/api/v1/billing/portal', body: { scope: 'personal' } }),
    ]);
    // Not sent to the organization billing page the local provider names (a user in no org has none).
    expect(window.location.href).toBe(before);
    expect(screen.getByRole('heading', { name: 'Account', level: 1 })).toBeInTheDocument();
  });
});
