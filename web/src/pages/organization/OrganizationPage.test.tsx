import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { OrganizationPage } from './OrganizationPage';

const org = {
  id: 'o-1',
  name: 'Acme',
  slug: 'acme',
  tier: 'team',
  seats: { used: 2, limit: 5, active_members: 2, pending_invites: 0 },
  storage_used_bytes: 0,
  storage_limit_bytes: 5 * 1024 ** 3,
  members_without_limit: 0,
};

describe('OrganizationPage', () => {
  it('regression: after leaving the org it asks for no org data (no 403 from GET /org/storage)', async () => {
    const user = userEvent.setup();
    let hasLeft = false;
    const requests = mockFetch((request: RecordedRequest) => {
      const me = { id: 'u-1', email: 'ann@example.com', name: 'Ann', email_verified: true };
      if (request.url === '/api/v1/me') {
        return {
          status: 200,
          body: {
            user: me,
            org: hasLeft ? null : { id: 'o-1', slug: 'acme', name: 'Acme', role: 'member', permissions: ['leave_org'] },
          },
        };
      }
      if (request.url === '/api/v1/org/leave') {
        hasLeft = true;
        return { status: 204 };
      }
      if (request.url === '/api/v1/org') {
        return hasLeft
          ? { status: 200, body: {} }
          : {
              status: 200,
              body: { org, members: [], members_total: 2, members_next_cursor: null, role: 'member', permissions: ['leave_org'] },
            };
      }
      if (request.url === '/api/v1/org/storage' && !hasLeft) {
        return { status: 200, body: { storage_used_bytes: 0, storage_limit_bytes: 5 * 1024 ** 3 } };
      }
      return { status: 403, body: { error: { code: 'forbidden', message: 'You are not in an organization.' } } };
    });
    renderWithProviders(
      <Routes>
        <Route path="/settings/organization" element={<OrganizationPage />} />
        <Route path="/" element={<p>Home</p>} />
      </Routes>,
      { route: '/settings/organization' },
    );
    await screen.findByText('0 B of 5.0 GiB used');
    await user.click(screen.getByRole('button', { name: 'Leave organization' }));
    const confirm = await screen.findByRole('alertdialog');
    await user.click(within(confirm).getByRole('button', { name: 'Leave' }));

    expect(await screen.findByText('Home')).toBeInTheDocument();
    await waitFor(() => expect(requests.filter((request) => request.url === '/api/v1/me').length).toBeGreaterThanOrEqual(2));
    const leaveAt = requests.findIndex((request) => request.url === '/api/v1/org/leave');
    const afterLeaving = requests.slice(leaveAt + 1).map((request) => request.url);
    expect(afterLeaving.filter((url) => url.startsWith('/api/v1/org/'))).toEqual([]);
  });
});
