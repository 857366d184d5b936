import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { SignupPage } from '../auth/SignupPage';
import { InvitePage } from './InvitePage';

const invite = { org: { name: 'Acme' }, inviter: { name: 'Olivia Owner' }, email: 'sam@example.com', role: 'admin' };

type Reply = { status: number; body?: unknown };

function inviteServer(options: {
  status?: string;
  me?: { email: string; org?: { role: string; permissions: string[] } | null } | null;
  accept?: () => Reply;
  signup?: () => Reply;
  orgName?: string;
  /** The members GET /org shows the caller (each with what the caller may do to them). */
  orgMembers?: { user_id: string; permissions: string[] }[];
}) {
  return mockFetch((request: RecordedRequest) => {
    if (request.url === '/api/v1/me') {
      if (!options.me) return { status: 401, body: { error: { code: 'unauthenticated', message: 'Sign in to continue.' } } };
      const org = options.me.org ? { id: 'o-2', slug: 'mine', name: 'Mine', ...options.me.org } : null;
      return { status: 200, body: { user: { id: 'u-1', email: options.me.email, name: 'Sam', email_verified: true }, org } };
    }
    if (request.method === 'GET' && request.url === '/api/v1/org' && options.me?.org) {
      const members = (options.orgMembers ?? []).map((member) => ({
        email: `${member.user_id}@example.com`,
        display_name: member.user_id,
        role: member.user_id === 'u-1' ? options.me?.org?.role : 'member',
        status: 'active',
        joined_at: '2026-01-01T00:00:00.000Z',
        ...member,
      }));
      return {
        status: 200,
        body: {
          org: { id: 'o-2', slug: 'mine', name: 'Mine' },
          members,
          members_total: members.length,
          members_next_cursor: null,
          role: options.me.org.role,
          permissions: options.me.org.permissions,
        },
      };
    }
    if (request.method === 'GET' && request.url === '/api/v1/invites/tok') {
      return {
        status: 200,
        body: { ...invite, org: { name: options.orgName ?? invite.org.name }, status: options.status ?? 'pending' },
      };
    }
    if (request.method === 'POST' && request.url === '/api/v1/invites/tok/accept' && options.accept) return options.accept();
    if (request.method === 'POST' && request.url === '/api/v1/auth/signup' && options.signup) return options.signup();
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

function renderInvite(route = '/invite/tok') {
  return renderWithProviders(
    <Routes>
      <Route path="/invite/:token" element={<InvitePage />} />
      <Route path="/signup" element={<SignupPage />} />
      <Route path="/settings/members" element={<p>Members screen</p>} />
    </Routes>,
    { route },
  );
}

const accepts = (requests: RecordedRequest[]) => requests.filter((request) => request.url.endsWith('/accept'));

describe('InvitePage', () => {
  it('regression: opening the link signed in as the invited address accepts nothing until "Join" is clicked', async () => {
    const requests = inviteServer({
      me: { email: 'SAM@example.com', org: null },
      accept: () => ({ status: 200, body: { org: { id: 'o-1', name: 'Acme' }, role: 'admin' } }),
    });
    renderInvite();

    const join = await screen.findByRole('button', { name: 'Join Acme' });
    expect(screen.getByText('Olivia Owner')).toBeInTheDocument();
    expect(screen.getAllByText(/admin/i).length).toBeGreaterThan(0);
    expect(accepts(requests)).toEqual([]);

    await userEvent.click(join);
    expect(await screen.findByText('Members screen')).toBeInTheDocument();
    expect(accepts(requests).map((request) => request.method)).toEqual(['POST']);
  });

  it('regression: tells a member of another org, before any click, to leave it first, and offers no Join', async () => {
    const requests = inviteServer({ me: { email: 'sam@example.com', org: { role: 'member', permissions: ['leave_org'] } } });
    renderInvite();
    const notice = await screen.findByRole('note');
    expect(notice).toHaveTextContent('You are already in Mine');
    expect(notice).toHaveTextContent('To join Acme, first leave Mine on its Organization page, then open this link again.');
    expect(screen.getByRole('link', { name: 'Leave Mine' })).toHaveAttribute('href', '/settings/organization');
    expect(screen.queryByRole('button', { name: 'Join Acme' })).toBeNull();
    expect(accepts(requests)).toEqual([]);
  });

  it('tells an owner with other members to transfer ownership first, not to leave, and offers no Join', async () => {
    inviteServer({
      me: { email: 'sam@example.com', org: { role: 'owner', permissions: ['invite', 'transfer_ownership'] } },
      orgMembers: [
        { user_id: 'u-1', permissions: ['view'] },
        { user_id: 'u-2', permissions: ['view', 'change_role', 'transfer_ownership'] },
      ],
    });
    renderInvite();
    const notice = await screen.findByText(/first transfer ownership of Mine to another member on the Members page/);
    expect(notice).toHaveTextContent('then leave Mine on its Organization page, and open this link again.');
    expect(screen.getByRole('link', { name: 'Transfer ownership' })).toHaveAttribute('href', '/settings/members');
    expect(screen.queryByRole('button', { name: 'Join Acme' })).toBeNull();
  });

  it('regression: tells a sole owner what can work (no one to transfer to; an org can be neither left nor deleted)', async () => {
    const requests = inviteServer({
      me: { email: 'sam@example.com', org: { role: 'owner', permissions: ['invite', 'transfer_ownership'] } },
      orgMembers: [{ user_id: 'u-1', permissions: ['view', 'set_usage_limit'] }],
    });
    renderInvite();
    const notice = await screen.findByText(/You own Mine and are its only active member/);
    expect(notice).toHaveTextContent(
      'Invite someone to Mine, transfer ownership to them once they have joined, leave Mine, then open this link again.',
    );
    expect(notice).toHaveTextContent('Or ask Olivia Owner to invite another email address of yours instead.');
    expect(notice).not.toHaveTextContent(/first transfer ownership of Mine to another member/);
    expect(screen.getByRole('link', { name: 'Invite someone to Mine' })).toHaveAttribute('href', '/settings/members');
    expect(screen.queryByRole('button', { name: 'Join Acme' })).toBeNull();
    expect(accepts(requests)).toEqual([]);
  });

  it('explains already_in_org after Join when the user joined another org since the page loaded', async () => {
    inviteServer({
      me: { email: 'sam@example.com', org: null },
      accept: () => ({ status: 409, body: { error: { code: 'already_in_org', message: 'Leave it first.' } } }),
    });
    renderInvite();
    await userEvent.click(await screen.findByRole('button', { name: 'Join Acme' }));
    expect(await screen.findByText(/Leave it first \(Settings → Organization\)/)).toBeInTheDocument();
  });

  it('does not ask a signed-in user to log in on an already accepted invitation', async () => {
    inviteServer({ status: 'accepted', me: { email: 'sam@example.com', org: { role: 'member', permissions: [] } } });
    renderInvite();
    expect(await screen.findByText('This invitation to Acme has already been used.')).toBeInTheDocument();
    expect(screen.queryByText(/Log in to continue/)).toBeNull();
    expect(screen.getByRole('link', { name: 'Go to the dashboard' })).toBeInTheDocument();
  });

  it('still asks a signed-out visitor to log in on an already accepted invitation', async () => {
    inviteServer({ status: 'accepted', me: null });
    renderInvite();
    expect(await screen.findByText(/has already been used\. Log in to continue\./)).toBeInTheDocument();
  });
});

describe('InvitePage with an org name ending in a full stop', () => {
  it('regression: "…to join Acme Rockets Inc." has one full stop, not two', async () => {
    inviteServer({ me: null, orgName: 'Acme Rockets Inc.' });
    renderInvite();
    expect(await screen.findByText(/invited/)).toHaveTextContent(/to join Acme Rockets Inc\.$/);
    expect(screen.queryByText(/Inc\.\./)).toBeNull();
  });

  it('regression: "…revoked by Acme Rockets Inc." has one full stop, not two', async () => {
    inviteServer({ me: null, status: 'revoked', orgName: 'Acme Rockets Inc.' });
    renderInvite();
    expect(await screen.findByText(/has been revoked by Acme Rockets Inc\. Ask your admin/)).toBeInTheDocument();
    expect(screen.queryByText(/Inc\.\./)).toBeNull();
  });

  it('regression: the signup banner "…invited you to join Acme Rockets Inc." has one full stop', async () => {
    inviteServer({ me: null, orgName: 'Acme Rockets Inc.' });
    renderInvite('/signup?invite=tok');
    expect(await screen.findByText(/invited you to/)).toHaveTextContent(/join Acme Rockets Inc\.$/);
  });
});

describe('SignupPage through an invitation', () => {
  it('regression: an address that already has an account gets one sentence, not "…Log in instead. Log in … instead."', async () => {
    inviteServer({
      me: null,
      signup: () => ({
        status: 409,
        body: { error: { code: 'email_taken', message: 'An account with this email already exists. Log in instead.' } },
      }),
    });
    renderInvite('/signup?invite=tok');
    await userEvent.type(await screen.findByLabelText('Name'), 'Sam');
    await userEvent.type(screen.getByLabelText('Password'), 'correct horse battery staple');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up and accept' }));
    const message = await screen.findByText(/already exists/);
    expect(message).toHaveTextContent('An account with this email already exists. Log in to accept the invitation instead.');
  });
});
