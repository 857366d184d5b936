import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders } from '../test/render';
import { AppShell } from './AppShell';

const permissions = ['invite'];

describe('AppShell', () => {
  it('regression: names the plan "Team plan" in the org card, not "Team Plan"', async () => {
    mockFetch((request) => {
      if (request.url === '/api/v1/me') {
        return {
          status: 200,
          body: {
            user: { id: 'u-1', email: 'ann@example.com', name: 'Ann', email_verified: true },
            org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'admin', permissions },
          },
        };
      }
      if (request.url === '/api/v1/org') {
        const org = {
          id: 'o-1',
          name: 'Acme',
          slug: 'acme',
          tier: 'team',
          seats: { used: 1, limit: 5, active_members: 1, pending_invites: 0 },
          storage_used_bytes: 0,
          storage_limit_bytes: 5 * 1024 ** 3,
          members_without_limit: 0,
        };
        return {
          status: 200,
          body: { org, members: [], members_total: 1, members_next_cursor: null, role: 'admin', permissions },
        };
      }
      return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
    });
    renderWithProviders(
      <Routes>
        <Route element={<AppShell />}>
          <Route path="/" element={<p>Page</p>} />
        </Route>
      </Routes>,
    );
    // Case-sensitive: the old span read "team plan" and relied on CSS `capitalize` ("Team Plan").
    expect(await screen.findByText('Team plan')).not.toHaveClass('capitalize');
  });
});
