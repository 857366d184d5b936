import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router';
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

type Reply = { status: number; body?: unknown };

/**
 * A server whose members list comes in two pages; `orgPermissions` is what the caller may do
 * (a function: what they may do now). `write` answers the other requests, `invites` the list.
 */
function membersServer(
  permissions: string[] | (() => string[]),
  options: {
    write?: (request: RecordedRequest) => Reply | undefined;
    invites?: unknown[] | (() => unknown[]);
    me?: () => Reply | undefined;
    /** The first page of GET /org/members (and GET /org's members), asked anew on every request. */
    members?: () => unknown[];
    seats?: typeof seats;
  } = {},
) {
  return mockFetch((request: RecordedRequest) => {
    const url = new URL(request.url, 'http://roster.test');
    const orgPermissions = typeof permissions === 'function' ? permissions() : permissions;
    if (request.method !== 'GET' && options.write) {
      const reply = options.write(request);
      if (reply) return reply;
    }
    if (url.pathname === '/api/v1/me' && options.me) {
      const reply = options.me();
      if (reply) return reply;
    }
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
          org: { ...org, seats: options.seats ?? seats },
          members: options.members?.() ?? [bob, ann],
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
        : { status: 200, body: { members: options.members?.() ?? [bob, ann], next_cursor: 'c1' } };
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
      const invites = typeof options.invites === 'function' ? options.invites() : options.invites;
      return { status: 200, body: { invites: invites ?? [invite] } };
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

const expiredInvite = {
  id: 'i-2',
  email: 'old@example.com',
  role: 'member',
  status: 'expired',
  created_at: '2026-01-02T00:00:00.000Z',
  expires_at: '2026-01-09T00:00:00.000Z',
  link: 'http://roster.test/invite/dead',
  invited_by: null,
};
const pendingInvite = {
  ...expiredInvite,
  id: 'i-1',
  email: 'dee@example.com',
  status: 'pending',
  link: 'http://roster.test/invite/tok',
};

describe('MembersPage invitations', () => {
  it('asks for confirmation before revoking an invitation, and revokes only on confirm', async () => {
    const user = userEvent.setup();
    const requests = membersServer(['invite'], { write: () => ({ status: 204 }) });
    renderWithProviders(<MembersPage />);
    const trigger = await screen.findByRole('button', { name: /Actions for dee@example.com/ });
    await user.click(trigger);
    await user.click(await screen.findByRole('menuitem', { name: 'Revoke' }));

    const confirm = await screen.findByRole('alertdialog', { name: 'Revoke the invitation to dee@example.com?' });
    expect(requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    await user.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    // Focus goes back to the row's "…" button, not to the page's start.
    expect(trigger).toHaveFocus();

    await user.click(trigger);
    await user.click(await screen.findByRole('menuitem', { name: 'Revoke' }));
    const again = await screen.findByRole('alertdialog');
    await user.click(within(again).getByRole('button', { name: 'Revoke invitation' }));
    expect(
      await screen.findByText('Invitation to dee@example.com revoked', { selector: '[data-sonner-toast] *' }),
    ).toBeInTheDocument();
    expect(requests.filter((request) => request.method === 'DELETE').map((request) => request.url)).toEqual([
      '/api/v1/org/invites/i-1',
    ]);
  });

  it('offers no "Copy link" (nor the dead link) for an expired invitation, but Resend', async () => {
    const user = userEvent.setup();
    const requests = membersServer(['invite'], {
      invites: [pendingInvite, expiredInvite],
      write: () => ({ status: 200, body: { invite: { ...pendingInvite, id: 'i-2', email: 'old@example.com' } } }),
    });
    renderWithProviders(<MembersPage />);
    await screen.findByText('old@example.com', { selector: 'p' });
    expect(rowOf('dee@example.com').getByRole('button', { name: /Copy link\s+for dee@example.com/ })).toBeInTheDocument();
    expect(rowOf('old@example.com').queryByRole('button', { name: /Copy link/ })).toBeNull();
    expect(screen.queryByText('http://roster.test/invite/dead')).toBeNull();

    await user.click(rowOf('old@example.com').getByRole('button', { name: /Resend\s+the invitation to old@example.com/ }));
    await screen.findByText('Invitation resent to old@example.com', { selector: '[data-sonner-toast] *' });
    expect(requests.filter((request) => request.method === 'POST').map((request) => request.url)).toEqual([
      '/api/v1/org/invites/i-2/resend',
    ]);
  });
});

describe('MembersPage dialogs', () => {
  it('gives focus back to the control that opened a dialog: "Invite member", and a row menu\'s "…" after View', async () => {
    const user = userEvent.setup();
    membersServer(['invite']);
    renderWithProviders(<MembersPage />);
    const invite = await screen.findByRole('button', { name: 'Invite member' });
    await user.click(invite);
    await screen.findByRole('dialog', { name: 'Invite member' });
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(invite).toHaveFocus();

    const trigger = await screen.findByRole('button', { name: /Actions for ann@example.com/ });
    await user.click(trigger);
    await user.click(await screen.findByRole('menuitem', { name: 'View' }));
    const details = await screen.findByRole('dialog', { name: 'Member details' });
    await user.click(within(details).getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(trigger).toHaveFocus();
  });
});

describe('MembersPage when the server refuses', () => {
  it('regression: after a 403 on a change it shows the server message and refetches /me and /org, whose permissions hide the controls', async () => {
    const user = userEvent.setup();
    let permissions = ['invite', 'manage_members'];
    const requests = membersServer(() => permissions, {
      write: () => {
        permissions = ['leave_org'];
        return { status: 403, body: { error: { code: 'forbidden', message: 'Only owners and admins can change roles.' } } };
      },
    });
    renderWithProviders(<MembersPage />);
    await user.click(await screen.findByRole('button', { name: /Actions for ann@example.com/ }));
    await user.click(await screen.findByRole('menuitem', { name: 'Make admin' }));

    expect(
      await screen.findByText('Only owners and admins can change roles.', { selector: '[data-sonner-toast] *' }),
    ).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Invite member' })).toBeNull());
    expect(screen.queryByRole('button', { name: 'Bulk invite' })).toBeNull();
    const count = (path: string) => requests.filter((request) => request.url === path).length;
    expect(count('/api/v1/me')).toBeGreaterThanOrEqual(2);
    expect(count('/api/v1/org')).toBeGreaterThanOrEqual(2);
  });
});

describe('MembersPage after a 403', () => {
  it("regression: refetches the members list, so each row's menu follows its fresh permissions", async () => {
    const user = userEvent.setup();
    let isDemoted = false;
    membersServer(() => (isDemoted ? ['leave_org'] : ['invite', 'manage_members']), {
      members: () => [bob, isDemoted ? { ...ann, permissions: ['view'] } : ann],
      write: () => {
        isDemoted = true;
        return { status: 403, body: { error: { code: 'forbidden', message: 'You are no longer an admin of Acme.' } } };
      },
    });
    renderWithProviders(<MembersPage />);
    await user.click(await screen.findByRole('button', { name: /Actions for ann@example.com/ }));
    await user.click(await screen.findByRole('menuitem', { name: 'Make admin' }));
    await screen.findByText('You are no longer an admin of Acme.', { selector: '[data-sonner-toast] *' });
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Invite member' })).toBeNull());

    await waitFor(async () => {
      await user.click(rowOf('ann@example.com').getByRole('button', { name: /Actions for ann@example.com/ }));
      const items = within(await screen.findByRole('menu')).getAllByRole('menuitem');
      expect(items.map((item) => item.textContent)).toEqual(['View']);
    });
  });
});

describe('MembersPage with every seat taken', () => {
  const full = { used: 5, limit: 5, active_members: 4, pending_invites: 1 };

  it('regression: disables "Invite member" and "Bulk invite" up front, says why, and links billing managers to Billing', async () => {
    membersServer(['invite', 'manage_billing'], { seats: full });
    renderWithProviders(<MembersPage />);
    const invite = await screen.findByRole('button', { name: 'Invite member' });
    await waitFor(() => expect(invite).toBeDisabled());
    expect(screen.getByRole('button', { name: 'Bulk invite' })).toBeDisabled();
    expect(invite).toHaveAccessibleDescription(/All seats are in use \(5 of 5\), so no one can be invited until one is free\./);
    expect(screen.getByRole('link', { name: 'Add seats under Billing' })).toHaveAttribute('href', '/settings/billing');
  });

  it('gives no Billing link to a caller who may invite but not manage billing, and enables both with a free seat', async () => {
    membersServer(['invite'], { seats: full });
    const { unmount } = renderWithProviders(<MembersPage />);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Invite member' })).toBeDisabled());
    expect(screen.queryByRole('link', { name: /Billing/ })).toBeNull();
    unmount();

    membersServer(['invite']);
    renderWithProviders(<MembersPage />);
    await screen.findByText('ann@example.com', { selector: 'p' });
    expect(screen.getByRole('button', { name: 'Invite member' })).toBeEnabled();
    expect(screen.getByRole('button', { name: 'Bulk invite' })).toBeEnabled();
    expect(screen.queryByText(/All seats are in use \(/)).toBeNull();
  });
});

describe('MembersPage focus', () => {
  it('regression: after a member is removed, focus moves to the next row\'s "…" button instead of the page body', async () => {
    const user = userEvent.setup();
    let isRemoved = false;
    const annRemovable = { ...ann, permissions: ['view', 'remove'] };
    const eve = member('eve@example.com', 'member', ['view', 'remove']);
    membersServer(['invite', 'manage_members'], {
      members: () => (isRemoved ? [bob, eve] : [bob, annRemovable, eve]),
      write: (request) => {
        if (request.method !== 'DELETE') return undefined;
        isRemoved = true;
        return { status: 204 };
      },
    });
    renderWithProviders(<MembersPage />);
    await user.click(await screen.findByRole('button', { name: /Actions for ann@example.com/ }));
    await user.click(await screen.findByRole('menuitem', { name: 'Remove' }));
    const confirm = await screen.findByRole('alertdialog', { name: /Remove ann/ });
    await user.click(within(confirm).getByRole('button', { name: 'Remove' }));

    await waitFor(() => expect(screen.queryByText('ann@example.com', { selector: 'p' })).toBeNull());
    await waitFor(() => expect(screen.getByRole('button', { name: /Actions for eve@example.com/ })).toHaveFocus());
  });

  it('after the last row with a menu is removed (a revoked invitation), focus goes to the table', async () => {
    const user = userEvent.setup();
    let isRevoked = false;
    membersServer(['invite'], {
      members: () => [bob],
      invites: () => (isRevoked ? [] : [pendingInvite]),
      write: (request) => {
        if (request.method !== 'DELETE') return undefined;
        isRevoked = true;
        return { status: 204 };
      },
    });
    renderWithProviders(<MembersPage />);
    await user.click(await screen.findByRole('button', { name: /Actions for dee@example.com/ }));
    await user.click(await screen.findByRole('menuitem', { name: 'Revoke' }));
    const confirm = await screen.findByRole('alertdialog');
    await user.click(within(confirm).getByRole('button', { name: 'Revoke invitation' }));

    await waitFor(() => expect(screen.queryByText('dee@example.com', { selector: 'p' })).toBeNull());
    await waitFor(() => expect(screen.getByRole('table')).toHaveFocus());
  });
});

describe('MembersPage long content', () => {
  it('regression: cuts a long invitation link and address inside the Email column, with the whole text in a title', async () => {
    const link = `http://roster.test/invite/rs_inv_${'x'.repeat(120)}`;
    const email = `dee.${'long'.repeat(20)}@example.com`;
    membersServer(['invite'], { invites: [{ ...pendingInvite, email, link }] });
    renderWithProviders(<MembersPage />);
    const shownLink = await screen.findByTestId('invite-link');
    expect(shownLink).toHaveClass('truncate');
    expect(shownLink).toHaveAttribute('title', link);
    const cell = shownLink.closest('td');
    // w-full max-w-0 at every width: the column takes what the others leave, never its content's width.
    expect(cell).toHaveClass('w-full', 'max-w-0');
    expect(cell?.className).not.toMatch(/(^|\s)\w+:(w-auto|max-w-(?!0))/);
    expect(screen.getByText(email, { selector: 'p' })).toHaveAttribute('title', email);
  });

  it('regression: on a phone an address wraps before its "@", not anywhere ("olivia@acme.tes / t"), and is shown whole', async () => {
    membersServer(['invite']);
    renderWithProviders(<MembersPage />);
    const address = await screen.findByText('ann@example.com', { selector: 'p' });
    expect(address.innerHTML).toBe('ann<wbr>@example.com');
    expect(address.className).not.toMatch(/break-all|text-ellipsis/);
    expect(address).toHaveClass('break-words');
    expect(address).toHaveAttribute('title', 'ann@example.com');
  });
});

describe('MembersPage search in the URL', () => {
  function WhereAmI() {
    const location = useLocation();
    return <p data-testid="location">{`${location.pathname}${location.search}`}</p>;
  }

  it('regression: keeps the search in the URL (?q=) and reads it back on load, so a reload keeps it', async () => {
    const requests = membersServer([]);
    const { unmount } = renderWithProviders(
      <>
        <MembersPage />
        <WhereAmI />
      </>,
      { route: '/settings/members' },
    );
    await screen.findByText('ann@example.com', { selector: 'p' });
    await userEvent.type(screen.getByRole('searchbox', { name: 'Search members' }), 'an');
    expect(screen.getByTestId('location')).toHaveTextContent('/settings/members?q=an');
    await userEvent.clear(screen.getByRole('searchbox', { name: 'Search members' }));
    expect(screen.getByTestId('location')).toHaveTextContent(/^\/settings\/members$/);
    unmount();

    requests.length = 0;
    renderWithProviders(<MembersPage />, { route: '/settings/members?q=ann' });
    expect(await screen.findByRole('searchbox', { name: 'Search members' })).toHaveValue('ann');
    await waitFor(() =>
      expect(requests.some((request) => request.url.startsWith('/api/v1/org/members') && request.url.includes('q=ann'))).toBe(
        true,
      ),
    );
  });
});
