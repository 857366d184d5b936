import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders } from '../test/render';
import { SeatCounter, seatSummary } from './SeatCounter';

function orgWithSeats(seats: { used: number; limit: number; active_members: number; pending_invites: number }) {
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
  };
}

describe('SeatCounter', () => {
  it('shows used of limit with active members and pending invitations', async () => {
    const requests = mockFetch(() => ({
      status: 200,
      body: orgWithSeats({ used: 7, limit: 10, active_members: 5, pending_invites: 2 }),
    }));
    renderWithProviders(<SeatCounter />);

    expect(await screen.findByText('7 of 10 seats used — 5 members, 2 pending')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Seats used' })).toHaveAttribute('aria-valuenow', '7');
    expect(screen.queryByText(/All seats are in use/)).not.toBeInTheDocument();
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual(['GET /api/v1/org']);
  });

  it('says what to do when every seat is taken', async () => {
    mockFetch(() => ({ status: 200, body: orgWithSeats({ used: 5, limit: 5, active_members: 3, pending_invites: 2 }) }));
    renderWithProviders(<SeatCounter />);

    expect(await screen.findByText('5 of 5 seats used — 3 members, 2 pending')).toBeInTheDocument();
    expect(screen.getByText(/All seats are in use. Revoke a pending invitation or add seats/)).toBeInTheDocument();
  });

  it('uses the singular for one seat and one member', () => {
    expect(seatSummary({ used: 1, limit: 1, active_members: 1, pending_invites: 0 })).toBe(
      '1 of 1 seat used — 1 member, 0 pending',
    );
  });
});
