import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { AuditPage } from './AuditPage';

function auditServer(permissions: string[], entries: unknown[] = []) {
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
    if (url.pathname === '/api/v1/org') return { status: 200, body: {} };
    if (url.pathname === '/api/v1/org/audit') {
      return permissions.includes('view_audit')
        ? { status: 200, body: { entries, next_cursor: null } }
        : { status: 403, body: { error: { code: 'forbidden', message: 'Only owners and admins.' } } };
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

function renderAudit() {
  return renderWithProviders(
    <Routes>
      <Route path="/settings/audit" element={<AuditPage />} />
      <Route path="/settings/members" element={<p>Members screen</p>} />
    </Routes>,
    { route: '/settings/audit' },
  );
}

describe('AuditPage', () => {
  it('regression: sends a member without view_audit to Members without asking GET /org/audit first (no 403)', async () => {
    const requests = auditServer(['leave_org']);
    renderAudit();
    expect(await screen.findByText('Members screen')).toBeInTheDocument();
    expect(requests.filter((request) => request.url.startsWith('/api/v1/org/audit'))).toEqual([]);
  });

  it('suggests a real action name in the Action filter', async () => {
    auditServer(['view_audit']);
    renderAudit();
    expect(await screen.findByLabelText('Action')).toHaveAttribute('placeholder', 'e.g. invite.sent');
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
    expect(await screen.findByText('ann@example.com')).toBeInTheDocument();
    expect(screen.getByText('Apollo')).toBeInTheDocument();
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
