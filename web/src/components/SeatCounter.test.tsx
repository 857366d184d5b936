import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders } from '../test/render';
import { SeatCounter, seatSummary } from './SeatCounter';

type Seats = { used: number; limit: number; active_members: number; pending_invites: number };

function orgWithSeats(seats: Seats, permissions: string[] = ['invite', 'manage_members', 'manage_billing']) {
  return {
    org: {
      id: 'org-1',
      name: 'Acme',
      slug: 'acme',
      tier: 'team',
      seats,
      storage_used_bytes: 0,
      storage_limit_bytes: 10 * 1024 ** 3,
      members_without_limit: 0,
    },
    members: [],
    role: 'owner',
    permissions,
  };
}

/** GET /org with these seats and permissions; /me (asked by the permissions hook) names no org. */
function seatsServer(seats: Seats, permissions?: string[]) {
  return mockFetch((request) =>
    request.url === '/api/v1/org'
      ? { status: 200, body: orgWithSeats(seats, permissions) }
      : { status: 200, body: { user: { id: 'u-1', email: 'me@example.com', name: 'Me', email_verified: true }, org: null } },
  );
}

describe('SeatCounter', () => {
  it('shows used of limit with active members and pending invitations', async () => {
    const requests = seatsServer({ used: 7, limit: 10, active_members: 5, pending_invites: 2 });
    renderWithProviders(<SeatCounter />);

    expect(await screen.findByText('7 of 10 seats used — 5 members, 2 pending')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Seats used' })).toHaveAttribute('aria-valuenow', '7');
    expect(screen.queryByText(/All seats are in use/)).not.toBeInTheDocument();
    // The seats come from GET /org alone (not the owners' billing endpoint).
    expect(requests.map((request) => `${request.method} ${request.url}`)).not.toContain('GET /api/v1/org/billing');
  });

  it('says what to do when every seat is taken, to someone who may invite and manage billing', async () => {
    seatsServer({ used: 5, limit: 5, active_members: 3, pending_invites: 2 });
    renderWithProviders(<SeatCounter />);

    expect(await screen.findByText('5 of 5 seats used — 3 members, 2 pending')).toBeInTheDocument();
    expect(screen.getByText(/All seats are in use. Revoke a pending invitation or add seats/)).toBeInTheDocument();
  });

  it('regression: does not tell a plain member to revoke invitations or add seats, which they cannot do', async () => {
    seatsServer({ used: 5, limit: 5, active_members: 3, pending_invites: 2 }, ['leave_org', 'create_project']);
    renderWithProviders(<SeatCounter />);

    expect(await screen.findByText('5 of 5 seats used — 3 members, 2 pending')).toBeInTheDocument();
    expect(screen.getByText(/All seats are in use\. New people can join once a seat is free: ask an admin/)).toBeInTheDocument();
    expect(within(screen.getByTestId('seat-counter')).queryByText(/Revoke|add seats/i)).toBeNull();
  });

  it('uses the singular for one seat and one member', () => {
    expect(seatSummary({ used: 1, limit: 1, active_members: 1, pending_invites: 0 })).toBe(
      '1 of 1 seat used — 1 member, 0 pending',
    );
  });
});
