import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { PersonalSubscription } from '../../api/types';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { CreateOrgPage } from './CreateOrgPage';

const plans = {
  plans: [
    {
      id: 'team',
      name: 'Team',
      price_cents_per_seat: 1499,
      currency: 'usd',
      default_seats: 5,
      storage_bytes_per_seat: 1024 ** 3,
      self_serve: true,
    },
  ],
};

const teamSubscription: PersonalSubscription = {
  plan: 'team',
  seats: 5,
  status: 'active',
  current_period_end: null,
  cancel_at_period_end: false,
  portal_available: true,
};

/** `subscription`: GET /me/subscription's `subscription` (none by default), or `'failing'` for a 500. */
function createOrgServer(
  write: (request: RecordedRequest) => { status: number; body?: unknown },
  options: { subscription?: PersonalSubscription | null | 'failing'; plans?: unknown } = {},
) {
  return mockFetch((request) => {
    if (request.url === '/api/v1/me') {
      return {
        status: 200,
        body: { user: { id: 'u-1', email: 'ann@example.com', name: 'Ann', email_verified: true }, org: null },
      };
    }
    if (request.url === '/api/v1/billing/plans') return { status: 200, body: options.plans ?? plans };
    if (request.url === '/api/v1/me/subscription') {
      if (options.subscription === 'failing') return { status: 500, body: { error: { code: 'internal', message: 'Down.' } } };
      return { status: 200, body: { subscription: options.subscription ?? null } };
    }
    if (request.method !== 'GET') return write(request);
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

const subscriptionReads = (requests: RecordedRequest[]) =>
  requests.filter((request) => request.url === '/api/v1/me/subscription').length;

const posts = (requests: RecordedRequest[]) => requests.filter((request) => request.method === 'POST');

describe('CreateOrgPage', () => {
  it('links to the account page, which a user in no organization has no sidebar to reach from here', async () => {
    createOrgServer(() => ({ status: 500 }));
    renderWithProviders(<CreateOrgPage />);
    expect(await screen.findByRole('link', { name: 'Account' })).toHaveAttribute('href', '/account');
  });

  it('regression: without a subscription (402) it shows the server message and keeps the typed name on the form', async () => {
    const user = userEvent.setup();
    createOrgServer(() => ({
      status: 402,
      body: {
        error: { code: 'subscription_required', message: 'Creating an organization needs a Team subscription. Check out first.' },
      },
    }));
    renderWithProviders(<CreateOrgPage />, { route: '/create-org?step=details' });

    await user.type(await screen.findByLabelText('Organization name'), 'Acme Widgets');
    await user.click(screen.getByRole('button', { name: 'Create organization' }));

    expect(await screen.findByText('Creating an organization needs a Team subscription. Check out first.')).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Name your organization' })).toBeInTheDocument();
    expect(screen.getByLabelText('Organization name')).toHaveValue('Acme Widgets');
    expect(screen.getByLabelText('Slug')).toHaveValue('acme-widgets');

    // Going to the plan step and back keeps the name too.
    await user.click(screen.getByRole('button', { name: 'Choose a plan' }));
    await user.click(await screen.findByRole('button', { name: 'Already subscribed? Continue' }));
    expect(await screen.findByLabelText('Organization name')).toHaveValue('Acme Widgets');
  });

  it('confirms the checkout with the seats and the monthly total before starting it', async () => {
    const user = userEvent.setup();
    const requests = createOrgServer(() => ({ status: 200, body: { url: 'http://localhost/billing/success' } }));
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });

    const seats = await screen.findByLabelText('Seats');
    fireEvent.change(seats, { target: { value: '10' } });
    await user.click(screen.getByRole('button', { name: 'Continue to checkout' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Subscribe to the Team plan?' });
    expect(within(confirm).getByTestId('checkout-total')).toHaveTextContent('10 seats × $14.99 = $149.90 per month');
    expect(requests.filter((request) => request.method === 'POST')).toEqual([]);

    await user.click(within(confirm).getByRole('button', { name: 'Confirm and check out' }));
    expect(await screen.findByRole('heading', { name: 'Name your organization' })).toBeInTheDocument();
    // The checkout completed here (the local provider applies it before answering): this much is known.
    expect(screen.getByText(/Your Team plan is active/)).toBeInTheDocument();
    expect(requests.filter((request) => request.method === 'POST').map((request) => request.body)).toEqual([
      { plan: 'team', seats: 10, scope: 'personal' },
    ]);
    // Asked again once the checkout completed: a later visit to the plan step shows the subscription.
    await waitFor(() => expect(subscriptionReads(requests)).toBe(2));
  });

  it('regression: does not claim "Your Team plan is active" on ?step=details, where nothing says so', async () => {
    createOrgServer(() => ({ status: 500 }));
    renderWithProviders(<CreateOrgPage />, { route: '/create-org?step=details' });
    expect(await screen.findByRole('heading', { name: 'Name your organization' })).toBeInTheDocument();
    expect(screen.queryByText(/Your Team plan is active/)).toBeNull();
    expect(screen.getByText(/If you have subscribed to a plan, name your organization/)).toBeInTheDocument();
  });

  it('regression: "Already subscribed? Continue" claims no subscription, and the plan step is one click back', async () => {
    const user = userEvent.setup();
    createOrgServer(() => ({ status: 500 }));
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });
    await user.click(await screen.findByRole('button', { name: 'Already subscribed? Continue' }));
    expect(await screen.findByRole('heading', { name: 'Name your organization' })).toBeInTheDocument();
    expect(screen.queryByText(/Your Team plan is active/)).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Not subscribed yet? Choose a plan' }));
    expect(await screen.findByRole('button', { name: 'Continue to checkout' })).toBeInTheDocument();
  });

  it('regression: the plan card shows the seats chosen, not the default "5 seats to start"', async () => {
    createOrgServer(() => ({ status: 500 }));
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });
    const seats = await screen.findByLabelText('Seats');
    expect(screen.getByText('5 seats to start')).toBeInTheDocument();
    fireEvent.change(seats, { target: { value: '3' } });
    expect(screen.getByText('3 seats to start')).toBeInTheDocument();
    expect(screen.queryByText('5 seats to start')).toBeNull();
    fireEvent.change(seats, { target: { value: '1' } });
    expect(screen.getByText('1 seat to start')).toBeInTheDocument();
  });

  it('regression: shows a price only for a whole number of seats in range ("2.5" and an empty field have none)', async () => {
    const user = userEvent.setup();
    const requests = createOrgServer(() => ({ status: 500 }));
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });
    const seats = await screen.findByLabelText('Seats');
    expect(screen.getByText('$74.95 per month')).toBeInTheDocument();
    for (const value of ['2.5', '', '0', '100001']) {
      fireEvent.change(seats, { target: { value } });
      expect(screen.queryByText(/per month/)).toBeNull();
      expect(screen.getByText('Enter a whole number of seats from 1 to 100,000.')).toBeInTheDocument();
      // The plan card keeps the default rather than a made-up count.
      expect(screen.getByText('5 seats to start')).toBeInTheDocument();
    }
    await user.click(screen.getByRole('button', { name: 'Continue to checkout' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(screen.getByText('Enter a whole number of seats from 1 to 100,000.')).toBeInTheDocument();
    expect(posts(requests)).toEqual([]);
    fireEvent.change(seats, { target: { value: '2' } });
    expect(screen.getByText('$29.98 per month')).toBeInTheDocument();
  });

  it('regression: the Enterprise card says who sets it up (this server’s operators), not a dead-end "Contact sales"', async () => {
    createOrgServer(() => ({ status: 500 }), {
      plans: {
        plans: [
          ...plans.plans,
          {
            id: 'enterprise',
            name: 'Enterprise',
            price_cents_per_seat: null,
            currency: 'usd',
            default_seats: 25,
            storage_bytes_per_seat: null,
            self_serve: false,
          },
        ],
      },
    });
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });
    expect(
      await screen.findByText(
        /is set up for you by the team that runs Roster at your company: ask them to move your organization/,
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText(/Contact sales/i)).toBeNull();
    expect(screen.getByText('Custom pricing')).toBeInTheDocument();
  });

  it('regression: a slug "Ab" is told about the capital and the length, not "Use lowercase letters only"', async () => {
    const user = userEvent.setup();
    createOrgServer(() => ({ status: 500 }));
    renderWithProviders(<CreateOrgPage />, { route: '/create-org?step=details' });
    await user.type(await screen.findByLabelText('Slug'), 'Ab');
    expect(screen.getByRole('alert')).toHaveTextContent('Use lowercase letters instead of capitals. Use at least 3 characters.');
    await user.clear(screen.getByLabelText('Slug'));
    await user.type(screen.getByLabelText('Slug'), 'acme_inc');
    expect(screen.getByRole('alert')).toHaveTextContent('Use only lowercase letters, digits and hyphens (not “_”).');
  });
});

describe('CreateOrgPage, with a personal subscription (GET /me/subscription)', () => {
  it('shows a subscribed user their subscription on the plan step instead of a second checkout', async () => {
    const user = userEvent.setup();
    const requests = createOrgServer(() => ({ status: 500 }), { subscription: teamSubscription });
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });

    expect(await screen.findByText('You have a Team subscription for 5 seats.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Continue to checkout' })).toBeNull();
    expect(screen.queryByLabelText('Seats')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Continue' }));
    expect(await screen.findByRole('heading', { name: 'Name your organization' })).toBeInTheDocument();
    expect(screen.getByText(/Your Team plan is active/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Not subscribed yet? Choose a plan' })).toBeNull();
    expect(posts(requests)).toEqual([]);
  });

  it('says the plan is active on ?step=details (back from Stripe once its webhook has landed)', async () => {
    createOrgServer(() => ({ status: 500 }), { subscription: teamSubscription });
    renderWithProviders(<CreateOrgPage />, { route: '/create-org?step=details' });
    expect(await screen.findByText(/Your Team plan is active/)).toBeInTheDocument();
    expect(screen.queryByText(/If you have subscribed to a plan/)).toBeNull();
  });

  it('counts a past_due subscription as paid for (POST /org moves it), and says its payment failed', async () => {
    createOrgServer(() => ({ status: 500 }), { subscription: { ...teamSubscription, seats: 3, status: 'past_due' } });
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });
    expect(await screen.findByText('You have a Team subscription for 3 seats.')).toBeInTheDocument();
    expect(screen.getByRole('note')).toHaveTextContent('Its last payment did not go through.');
    expect(within(screen.getByRole('note')).getByRole('link', { name: 'Account' })).toHaveAttribute('href', '/account');
    expect(screen.queryByRole('button', { name: 'Continue to checkout' })).toBeNull();
  });

  it('offers the checkout for a canceled subscription, which POST /org does not take', async () => {
    createOrgServer(() => ({ status: 500 }), { subscription: { ...teamSubscription, status: 'canceled' } });
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });
    expect(await screen.findByRole('button', { name: 'Continue to checkout' })).toBeInTheDocument();
    expect(screen.queryByText(/You have a Team subscription/)).toBeNull();
  });

  it('works as before when GET /me/subscription fails: the checkout and "Already subscribed? Continue"', async () => {
    const user = userEvent.setup();
    createOrgServer(() => ({ status: 500 }), { subscription: 'failing' });
    renderWithProviders(<CreateOrgPage />, { route: '/create-org' });
    expect(await screen.findByRole('button', { name: 'Continue to checkout' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Already subscribed? Continue' }));
    expect(await screen.findByText(/If you have subscribed to a plan, name your organization/)).toBeInTheDocument();
    expect(screen.queryByText(/Your Team plan is active/)).toBeNull();
  });

  it('regression: a 402 subscription_required beats what GET /me/subscription said, back on the plan step too', async () => {
    const user = userEvent.setup();
    const requests = createOrgServer(
      () => ({
        status: 402,
        body: { error: { code: 'subscription_required', message: 'Creating an organization needs a Team subscription.' } },
      }),
      { subscription: teamSubscription },
    );
    renderWithProviders(<CreateOrgPage />, { route: '/create-org?step=details' });
    await screen.findByText(/Your Team plan is active/);

    await user.type(screen.getByLabelText('Organization name'), 'Acme Widgets');
    await user.click(screen.getByRole('button', { name: 'Create organization' }));
    expect(await screen.findByText('Creating an organization needs a Team subscription.')).toBeInTheDocument();
    expect(screen.queryByText(/Your Team plan is active/)).toBeNull();
    await waitFor(() => expect(subscriptionReads(requests)).toBe(2));

    await user.click(screen.getByRole('button', { name: 'Choose a plan' }));
    expect(await screen.findByRole('button', { name: 'Continue to checkout' })).toBeInTheDocument();
    expect(screen.queryByText(/You have a Team subscription/)).toBeNull();
  });
});
