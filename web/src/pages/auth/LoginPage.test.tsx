import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes, useLocation } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { LoginPage } from './LoginPage';
import { SignupPage } from './SignupPage';

function WhereAmI() {
  const location = useLocation();
  return <p data-testid="location">{`${location.pathname}${location.search}`}</p>;
}

const me = {
  user: { id: 'u-1', email: 'ann@example.com', name: 'Ann', email_verified: true },
  org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'admin', permissions: [] },
};

/** GET /me answers `signedIn` (401 otherwise); POST /auth/login and /auth/signup sign in (GET /me then answers). */
function authServer(signedIn: boolean) {
  let isSignedIn = signedIn;
  return mockFetch((request: RecordedRequest) => {
    if (request.url === '/api/v1/me') {
      return isSignedIn
        ? { status: 200, body: me }
        : { status: 401, body: { error: { code: 'unauthenticated', message: 'Sign in to continue.' } } };
    }
    if (request.method === 'POST' && (request.url === '/api/v1/auth/login' || request.url === '/api/v1/auth/signup')) {
      isSignedIn = true;
      return { status: 200, body: { user: me.user } };
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

function renderAuth(route: string) {
  return renderWithProviders(
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/signup" element={<SignupPage />} />
      <Route path="*" element={<WhereAmI />} />
    </Routes>,
    { route },
  );
}

describe('LoginPage and SignupPage when already signed in', () => {
  it('regression: /login sends a signed-in user to the dashboard home instead of showing the form', async () => {
    authServer(true);
    renderAuth('/login');
    expect(await screen.findByTestId('location')).toHaveTextContent(/^\/$/);
    expect(screen.queryByRole('button', { name: 'Log in' })).toBeNull();
  });

  it('follows a same-origin `next` path', async () => {
    authServer(true);
    renderAuth('/login?next=%2Fsettings%2Fusage%3Fx%3D1');
    expect(await screen.findByTestId('location')).toHaveTextContent('/settings/usage?x=1');
  });

  it('ignores a `next` to another origin', async () => {
    authServer(true);
    renderAuth('/login?next=%2F%2Fevil.example%2F');
    expect(await screen.findByTestId('location')).toHaveTextContent(/^\/$/);
  });

  it('regression: /signup sends a signed-in user on too', async () => {
    authServer(true);
    renderAuth('/signup?next=%2Fprojects');
    expect(await screen.findByTestId('location')).toHaveTextContent('/projects');
    expect(screen.queryByRole('button', { name: /Sign up/ })).toBeNull();
  });

  it('shows the forms to a signed-out user', async () => {
    authServer(false);
    renderAuth('/login');
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();
  });

  it('after signing up on the page, still goes through onboarding (the new session does not redirect it)', async () => {
    authServer(false);
    renderAuth('/signup?next=%2Fprojects');
    await userEvent.type(await screen.findByLabelText('Name'), 'Ann');
    await userEvent.type(screen.getByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'correct horse battery staple');
    await userEvent.click(screen.getByRole('button', { name: /Sign up/ }));
    expect(await screen.findByTestId('location')).toHaveTextContent(
      `/onboarding?next=${encodeURIComponent('/settings/members')}`,
    );
  });

  it('after logging in on the page, follows `next`', async () => {
    authServer(false);
    renderAuth('/login?next=%2Fprojects');
    await userEvent.type(await screen.findByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'secret');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByTestId('location')).toHaveTextContent('/projects');
  });
});
