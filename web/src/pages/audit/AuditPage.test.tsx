import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes, useLocation } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { AuditPage } from './AuditPage';

function auditServer(permissions: string[], entries: unknown[] = [], orgMembers?: unknown[]) {
  return mockFetch((request: RecordedRequest) => {
    const url = new URL(request.url, 'http://roster.test');
    if (url.pathname === '/api/v1/me') {
      return {
        status: 200,
        body: {
          user: { id: 'u-1', email: 'ann@example.com', name: 'Ann', email_verified: true },
          org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'member', permissions },
        },
      };
    }
    if (url.pathname === '/api/v1/org') {
      if (!orgMembers) return { status: 200, body: {} };
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
      return {
        status: 200,
        body: {
          org,
          members: orgMembers,
          members_total: orgMembers.length,
          members_next_cursor: null,
          role: 'admin',
          permissions,
        },
      };
    }
    if (url.pathname === '/api/v1/org/audit') {
      return permissions.includes('view_audit')
        ? { status: 200, body: { entries, next_cursor: null } }
        : { status: 403, body: { error: { code: 'forbidden', message: 'Only owners and admins.' } } };
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

function WhereAmI() {
  const location = useLocation();
  return <p data-testid="location">{`${location.pathname}${location.search}`}</p>;
}

function renderAudit(route = '/settings/audit') {
  return renderWithProviders(
    <Routes>
      <Route
        path="/settings/audit"
        element={
          <>
            <AuditPage />
            <WhereAmI />
          </>
        }
      />
      <Route path="/settings/members" element={<p>Members screen</p>} />
    </Routes>,
    { route },
  );
}

describe('AuditPage', () => {
  it('regression: tells a member without view_audit why there is no log, instead of silently sending them to Members', async () => {
    const requests = auditServer(['leave_org']);
    renderAudit();
    expect(await screen.findByText('Only owners and admins see the audit log.')).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Audit log' })).toBeInTheDocument();
    expect(screen.queryByText('Members screen')).toBeNull();
    expect(screen.queryByLabelText('Action')).toBeNull();
    // Still no GET /org/audit to be refused with 403.
    expect(requests.filter((request) => request.url.startsWith('/api/v1/org/audit'))).toEqual([]);
  });

  it('regression: the Action filter offers the labels the list shows ("Invite sent") and sends the code', async () => {
    const user = userEvent.setup();
    const requests = auditServer(
      ['view_audit'],
      [entry({ action: 'invite.sent', target_type: 'invitation', target_label: 'x@example.com' })],
    );
    renderAudit();
    expect(await screen.findByText('Invite sent', { selector: 'span' })).toBeInTheDocument();
    const select = screen.getByLabelText('Action');
    expect(within(select).getByRole('option', { name: 'All actions' })).toHaveValue('');
    expect(within(select).getByRole('option', { name: 'Invite sent' })).toHaveValue('invite.sent');
    expect(within(select).getByRole('option', { name: 'Ownership transferred' })).toHaveValue('org.ownership_transferred');
    expect(within(select).getByRole('option', { name: 'Member left' })).toHaveValue('member.left');
    await user.selectOptions(select, 'Invite sent');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    await screen.findByRole('button', { name: 'Clear' });
    const filtered = requests.filter((request) => request.url.startsWith('/api/v1/org/audit?'));
    expect(new URL(filtered.at(-1)?.url ?? '', 'http://roster.test').searchParams.get('action')).toBe('invite.sent');
  });

  it('regression: keeps the filters in the URL, and reads them back on load (a reload keeps them)', async () => {
    const user = userEvent.setup();
    const requests = auditServer(['view_audit'], [entry({ action: 'invite.sent' })]);
    renderAudit();
    await user.selectOptions(await screen.findByLabelText('Action'), 'Invite sent');
    await user.type(screen.getByLabelText('Actor'), 'olivia@example.com');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    expect(screen.getByTestId('location')).toHaveTextContent('/settings/audit?action=invite.sent&actor=olivia%40example.com');
    await user.click(await screen.findByRole('button', { name: 'Clear' }));
    expect(screen.getByTestId('location')).toHaveTextContent(/^\/settings\/audit$/);
    expect(requests.filter((request) => request.url.startsWith('/api/v1/org/audit')).length).toBeGreaterThan(1);
  });

  it('applies the filters a URL names when the page opens', async () => {
    const requests = auditServer(['view_audit'], [entry({ action: 'invite.sent' })]);
    renderAudit('/settings/audit?action=invite.sent&actor=olivia%40example.com');
    expect(await screen.findByText('Invite sent', { selector: 'span' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Clear' })).toBeInTheDocument();
    expect(screen.getByLabelText('Action')).toHaveValue('invite.sent');
    expect(screen.getByLabelText('Actor')).toHaveValue('olivia@example.com');
    const query = new URL(requests.find((request) => request.url.startsWith('/api/v1/org/audit'))?.url ?? '', 'http://x')
      .searchParams;
    expect(query.get('action')).toBe('invite.sent');
    expect(query.get('actor')).toBe('olivia@example.com');
  });

  it('regression: "Show changes" on an ownership transfer names the owners, not bare user ids', async () => {
    const user = userEvent.setup();
    const oldOwner = '0197f3a2-aaaa-7000-8000-000000000001';
    const newOwner = '0197f3a2-bbbb-7000-8000-000000000002';
    auditServer(
      ['view_audit'],
      [
        entry({
          action: 'org.ownership_transferred',
          actor: { user_id: oldOwner, email: 'olivia@example.com' },
          actor_label: 'olivia@example.com',
          target_id: newOwner,
          target_label: 'grace@example.com',
          before: { owner: oldOwner, new_owner_role: 'admin' },
          after: { owner: newOwner, previous_owner_role: 'admin' },
        }),
      ],
    );
    renderAudit();
    await user.click(await screen.findByText('Show changes'));
    const before = screen.getByTestId('changes-before');
    const after = screen.getByTestId('changes-after');
    expect(before).toHaveTextContent('Owner');
    expect(before).toHaveTextContent('olivia@example.com');
    expect(after).toHaveTextContent('grace@example.com');
    expect(after).toHaveTextContent('Previous owner role');
    expect(screen.queryByText(oldOwner)).toBeNull();
    expect(screen.queryByText(newOwner)).toBeNull();
  });

  it('names user ids in changes from the org’s members, and says what an id it cannot name is', async () => {
    const user = userEvent.setup();
    const ann = '0197f3a2-cccc-7000-8000-000000000003';
    const gone = '0197f3a2-dddd-7000-8000-000000000004';
    auditServer(
      ['view_audit'],
      [
        entry({
          action: 'project.member_changed',
          target_type: 'project',
          target_label: 'Apollo',
          before: { user_id: gone, editor: true },
          after: { user_id: ann, editor: false },
        }),
      ],
      [
        {
          user_id: ann,
          email: 'ann@example.com',
          display_name: 'Ann Archer',
          role: 'member',
          status: 'active',
          joined_at: '2026-01-01T00:00:00.000Z',
          permissions: [],
        },
      ],
    );
    renderAudit();
    await user.click(await screen.findByText('Show changes'));
    expect(screen.getByTestId('changes-after')).toHaveTextContent('Ann Archer (ann@example.com)');
    expect(screen.getByTestId('changes-before')).toHaveTextContent(`User id ${gone}`);
  });

  it('names targets by the email or name the entry carries, not by the start of an id', async () => {
    auditServer(
      ['view_audit'],
      [
        entry({
          action: 'member.role_changed',
          before: { role: 'member', email: 'ann@example.com' },
          after: { role: 'admin', email: 'ann@example.com' },
        }),
        entry({ action: 'project.created', target_type: 'project', after: { name: 'Apollo' } }),
      ],
    );
    renderAudit();
    // In each row's heading (the changes, folded away, hold the same email).
    expect(await screen.findByText('ann@example.com', { selector: 'span' })).toBeInTheDocument();
    expect(screen.getByText('Apollo', { selector: 'span' })).toBeInTheDocument();
    expect(screen.queryByText('0197f3a2')).toBeNull();
  });

  it("prefers the server's target_label: a role change, which records no email, still names the member", async () => {
    auditServer(
      ['view_audit'],
      [
        entry({
          action: 'member.role_changed',
          target_label: 'grace@example.com',
          before: { role: 'member' },
          after: { role: 'admin' },
        }),
      ],
    );
    renderAudit();
    expect(await screen.findByText('grace@example.com')).toBeInTheDocument();
    expect(screen.queryByText('0197f3a2')).toBeNull();
  });
});

let entries = 0;
/** An audit entry as GET /org/audit answers it, by Olivia, about a user unless told otherwise. */
function entry(fields: Record<string, unknown>) {
  entries += 1;
  return {
    id: `a-${entries}`,
    actor: { user_id: 'u-1', email: 'olivia@example.com' },
    actor_label: 'Olivia Owner',
    target_type: 'user',
    target_id: `0197f3a2-${String(entries).padStart(4, '0')}-7000-8000-000000000001`,
    target_label: null,
    before: null,
    after: null,
    created_at: '2026-01-02T03:04:05.000Z',
    request_id: `req-${entries}`,
    ...fields,
  };
}
