import { screen } from '@testing-library/react';
import { Route, Routes, useLocation } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../test/render';
import { AppShell } from './AppShell';
import { RequireAuth, RequireOrg } from './guards';
import { MembersPage } from '../pages/members/MembersPage';

function WhereAmI() {
  const location = useLocation();
  return <p data-testid="location">{`${location.pathname}${location.search}`}</p>;
}

const me = {
  user: { id: 'u-1', email: 'ann@example.com', name: 'Ann', email_verified: true },
  org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'admin', permissions: ['invite'] },
};

describe('RequireAuth', () => {
  it('regression: a 401 on any request inside the app (session revoked) sends the user to log in, keeping the path', async () => {
    let isRevoked = false;
    mockFetch((request: RecordedRequest) => {
      if (request.url === '/api/v1/me' && !isRevoked) return { status: 200, body: me };
      // The session is revoked while the page loads: every later request answers 401.
      isRevoked = true;
      return { status: 401, body: { error: { code: 'unauthenticated', message: 'Sign in to continue.' } } };
    });
    renderWithProviders(
      <Routes>
        <Route element={<RequireAuth />}>
          <Route element={<RequireOrg />}>
            <Route element={<AppShell />}>
              <Route path="/settings/members" element={<MembersPage />} />
            </Route>
          </Route>
        </Route>
        <Route path="/login" element={<WhereAmI />} />
      </Routes>,
      { route: '/settings/members?q=x' },
    );

    expect(await screen.findByTestId('location')).toHaveTextContent('/login?next=%2Fsettings%2Fmembers%3Fq%3Dx');
    expect(screen.queryByText('This could not be loaded')).toBeNull();
  });
});
