import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../../AppRoutes';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { ResetPasswordPage } from './ResetPasswordPage';

const user = { id: 'u-1', email: 'ada@example.com', name: 'Ada', email_verified: true };

/** GET /me answers signed in only after a successful confirm (the cookie it sets); POST …/confirm answers with `confirm`. */
function resetServer(confirm: () => { status: number; body?: unknown }) {
  let isSignedIn = false;
  return mockFetch((request: RecordedRequest) => {
    if (request.url === '/api/v1/me') {
      return isSignedIn
        ? { status: 200, body: { user, org: null } }
        : { status: 401, body: { error: { code: 'unauthenticated', message: 'Sign in to continue.' } } };
    }
    if (request.method === 'POST' && request.url === '/api/v1/auth/password-reset/confirm') {
      const reply = confirm();
      isSignedIn = reply.status === 200;
      return reply;
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

const signedIn = () => ({ status: 200, body: { user, token: 'rs_ses_new' } });
const failing = (status: number, code: string, message: string) => () => ({ status, body: { error: { code, message } } });
const posts = (requests: RecordedRequest[]) => requests.filter((request) => request.method === 'POST');

async function setPassword(password: string) {
  await userEvent.type(await screen.findByLabelText('New password'), password);
  await userEvent.click(screen.getByRole('button', { name: 'Set new password' }));
}

describe('ResetPasswordPage (the link of the password reset email)', () => {
  it('sends nothing on opening the link, and shows the password rule of signup', () => {
    const requests = resetServer(signedIn);
    renderWithProviders(<AppRoutes />, { route: '/reset-password?token=rs_rst_abc' });

    expect(screen.getByRole('heading', { name: 'Choose a new password' })).toBeInTheDocument();
    expect(screen.getByLabelText('New password')).toHaveAccessibleDescription(
      "Use a long password that you don't use anywhere else.",
    );
    expect(requests).toEqual([]);
  });

  it('submits the token and the new password, then signs in and lands where login lands', async () => {
    const requests = resetServer(signedIn);
    renderWithProviders(
      <Routes>
        <Route path="/reset-password" element={<ResetPasswordPage />} />
        <Route path="/" element={<p>Home of the dashboard</p>} />
      </Routes>,
      { route: '/reset-password?token=rs_rst_abc' },
    );

    await setPassword('a long and new passphrase');

    expect(await screen.findByText('Home of the dashboard')).toBeInTheDocument();
    expect(posts(requests)).toEqual([
      expect.objectContaining({
        url: '/api/v1/auth/password-reset/confirm',
        body: { token: 'rs_rst_abc', password: 'a long and new passphrase' },
      }),
    ]);
    // The `me` query is fetched again after the cookie is set, as after a login.
    expect(requests.at(-1)).toMatchObject({ method: 'GET', url: '/api/v1/me' });
  });

  it('shows the invalid link outcome with a way to ask again on invalid_token', async () => {
    resetServer(failing(400, 'invalid_token', 'This reset link is invalid or has expired. Ask for a new one.'));
    renderWithProviders(<AppRoutes />, { route: '/reset-password?token=rs_rst_used' });

    await setPassword('a long and new passphrase');

    expect(await screen.findByRole('heading', { name: 'This reset link is not valid' })).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent(/already been used, has expired/);
    await userEvent.click(screen.getByRole('link', { name: 'Ask for a new link' }));
    expect(await screen.findByRole('heading', { name: 'Reset your password' })).toBeInTheDocument();
  });

  it('shows the same outcome, without a form, when the link has no token', () => {
    const requests = resetServer(signedIn);
    renderWithProviders(<AppRoutes />, { route: '/reset-password' });

    expect(screen.getByRole('heading', { name: 'This reset link is not valid' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Ask for a new link' })).toHaveAttribute('href', '/forgot-password');
    expect(screen.queryByLabelText('New password')).toBeNull();
    expect(requests).toEqual([]);
  });

  it('shows weak_password next to the field, and keeps the form', async () => {
    resetServer(failing(400, 'weak_password', 'Use at least 10 characters.'));
    renderWithProviders(<AppRoutes />, { route: '/reset-password?token=rs_rst_abc' });

    await setPassword('short');

    expect(await screen.findByText('Use at least 10 characters.')).toBeInTheDocument();
    expect(screen.getByLabelText('New password')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByRole('button', { name: 'Set new password' })).toBeInTheDocument();
  });

  it('shows a refusal that is not about the link or the password above the form (403 user_disabled)', async () => {
    resetServer(failing(403, 'user_disabled', 'This account is disabled. Contact your organization administrator.'));
    renderWithProviders(<AppRoutes />, { route: '/reset-password?token=rs_rst_abc' });

    await setPassword('a long and new passphrase');

    expect(await screen.findByRole('alert')).toHaveTextContent('This account is disabled.');
    expect(screen.getByLabelText('New password')).not.toHaveAttribute('aria-invalid');
  });
});
