import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { MembersPage } from './MembersPage';

const seats = { used: 3, limit: 10, active_members: 3, pending_invites: 0 };
const org = {
  id: 'o-1',
  name: 'Acme',
  slug: 'acme',
  tier: 'team',
  seats,
  storage_used_bytes: 0,
  storage_limit_bytes: null,
  members_without_limit: 0,
};

function member(email: string, role: string, permissions: string[]) {
  return {
    user_id: `u-${email}`,
    email,
    display_name: email.split('@')[0],
    role,
    status: 'active',
    joined_at: '2026-01-01T00:00:00.000Z',
    permissions,
  };
}

const ann = member('ann@example.com', 'member', ['view', 'change_role', 'set_usage_limit']);
const bob = member('bob@example.com', 'owner', []);
const cat = member('cat@example.com', 'member', ['view']);

/** A server whose members list comes in two pages; `orgPermissions` is what the caller may do. */
function membersServer(orgPermissions: string[]) {
  return mockFetch((request: RecordedRequest) => {
    const url = new URL(request.url, 'http://roster.test');
    if (url.pathname === '/api/v1/me') {
      return {
        status: 200,
        body: {
          user: { id: 'u-me', email: 'me@example.com', name: 'Me', email_verified: true },
          org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'admin', permissions: orgPermissions },
        },
      };
    }
    if (url.pathname === '/api/v1/org') {
      return {
        status: 200,
        body: {
          org,
          members: [bob, ann],
          members_total: 3,
          members_next_cursor: 'c1',
          role: 'admin',
          permissions: orgPermissions,
        },
      };
    }
    if (url.pathname === '/api/v1/org/members') {
      return url.searchParams.get('cursor') === 'c1'
        ? { status: 200, body: { members: [cat], next_cursor: null } }
        : { status: 200, body: { members: [bob, ann], next_cursor: 'c1' } };
    }
    if (url.pathname === '/api/v1/org/invites') {
      const invite = {
        id: 'i-1',
        email: 'dee@example.com',
        role: 'member',
        status: 'pending',
        created_at: '2026-01-02T00:00:00.000Z',
        expires_at: '2026-01-09T00:00:00.000Z',
        link: 'http://roster.test/invite/tok',
        invited_by: null,
      };
      return { status: 200, body: { invites: [invite] } };
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

function rowOf(email: string) {
  const cell = screen.getByText(email, { selector: 'p' });
  const row = cell.closest('tr');
  if (!row) throw new Error(`no row for ${email}`);
  return within(row);
}

describe('MembersPage', () => {
  it('pages through GET /org/members with the cursor the server returns', async () => {
    const requests = membersServer(['invite']);
    renderWithProviders(<MembersPage />);
    await screen.findByText('ann@example.com', { selector: 'p' });
    expect(screen.queryByText('cat@example.com')).toBeNull();
    expect(await screen.findByText('Showing 2 of 3 members')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Load more members' }));
    await screen.findByText('cat@example.com', { selector: 'p' });
    const pages = requests.filter((request) => request.url.startsWith('/api/v1/org/members'));
    expect(pages.map((request) => new URL(request.url, 'http://roster.test').searchParams.get('cursor'))).toEqual([null, 'c1']);
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Load more members' })).toBeNull());
  });

  it('searches on the server by name or email prefix', async () => {
    const requests = membersServer([]);
    renderWithProviders(<MembersPage />);
    await screen.findByText('ann@example.com', { selector: 'p' });
    await userEvent.type(screen.getByRole('searchbox', { name: 'Search members' }), 'an');
    await waitFor(() =>
      expect(requests.some((request) => request.url.startsWith('/api/v1/org/members') && request.url.includes('q=an'))).toBe(
        true,
      ),
    );
  });

  it("offers each member's actions only from that member's permissions", async () => {
    membersServer(['invite', 'manage_members']);
    renderWithProviders(<MembersPage />);
    await screen.findByText('ann@example.com', { selector: 'p' });

    // The owner row carries no permissions: no menu at all, whatever the caller's role.
    expect(rowOf('bob@example.com').queryByRole('button', { name: /Actions for/ })).toBeNull();

    const trigger = rowOf('ann@example.com').getByRole('button', { name: /Actions for ann@example.com/ });
    trigger.focus();
    await userEvent.keyboard('{Enter}');
    const menu = await screen.findByRole('menu');
    const items = within(menu)
      .getAllByRole('menuitem')
      .map((item) => item.textContent);
    expect(items).toEqual(['View', 'Make admin', 'Set usage limit']);
  });

  it('shows invitation controls, links and "Copy link" only with the invite permission', async () => {
    const requests = membersServer(['invite']);
    const { unmount } = renderWithProviders(<MembersPage />);
    await screen.findByText('dee@example.com', { selector: 'p' });
    expect(screen.getByRole('button', { name: 'Invite member' })).toBeInTheDocument();
    expect(screen.getByText('http://roster.test/invite/tok')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /Copy link\s+for dee@example.com/ })).toBeInTheDocument();
    unmount();

    requests.length = 0;
    membersServer(['leave_org']);
    renderWithProviders(<MembersPage />);
    await screen.findByText('ann@example.com', { selector: 'p' });
    expect(screen.queryByRole('button', { name: 'Invite member' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Bulk invite' })).toBeNull();
    expect(screen.queryByText('dee@example.com')).toBeNull();
    expect(screen.queryByRole('button', { name: /Copy link/ })).toBeNull();
  });
});
