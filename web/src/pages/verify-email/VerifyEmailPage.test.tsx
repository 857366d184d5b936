import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../../AppRoutes';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';

const user = { id: 'u-1', email: 'ada@example.com', name: 'Ada', email_verified: false };

/** GET /me answers per `signedIn`; POST /auth/verify-email answers with `verify`, POST …/resend with `resend`. */
function verifyServer(options: {
  signedIn: boolean;
  /** The signed-in user's address is confirmed already. */
  isVerified?: boolean;
  verify: () => { status: number; body?: unknown };
  resend?: () => { status: number; body?: unknown };
}) {
  return mockFetch((request: RecordedRequest) => {
    if (request.url === '/api/v1/me') {
      return options.signedIn
        ? { status: 200, body: { user: { ...user, email_verified: options.isVerified ?? false }, org: null } }
        : { status: 401, body: { error: { code: 'unauthenticated', message: 'Sign in to continue.' } } };
    }
    if (request.method === 'POST' && request.url === '/api/v1/auth/verify-email') return options.verify();
    if (request.method === 'POST' && request.url === '/api/v1/auth/verify-email/resend' && options.resend)
      return options.resend();
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

const verified = () => ({ status: 200, body: { user: { ...user, email_verified: true } } });
const posts = (requests: RecordedRequest[]) => requests.filter((request) => request.method === 'POST');

describe('VerifyEmailPage (the link of the verification email)', () => {
  it('confirms nothing on opening the link, then confirms with a POST of the token on click (signed out)', async () => {
    const requests = verifyServer({ signedIn: false, verify: verified });
    renderWithProviders(<AppRoutes />, { route: '/verify-email?token=rs_ver_abc' });

    const button = await screen.findByRole('button', { name: 'Confirm my email address' });
    expect(screen.queryByText('Page not found')).toBeNull();
    expect(posts(requests)).toEqual([]);

    await userEvent.click(button);
    expect(await screen.findByRole('heading', { name: 'Your email address is confirmed' })).toBeInTheDocument();
    expect(posts(requests)).toEqual([
      expect.objectContaining({ url: '/api/v1/auth/verify-email', body: { token: 'rs_ver_abc' } }),
    ]);
    expect(screen.getByRole('link', { name: 'Log in to continue' })).toHaveAttribute('href', '/login');
  });

  it('offers the dashboard to a signed-in user once confirmed', async () => {
    verifyServer({ signedIn: true, verify: verified });
    renderWithProviders(<AppRoutes />, { route: '/verify-email?token=rs_ver_abc' });

    await userEvent.click(await screen.findByRole('button', { name: 'Confirm my email address' }));
    expect(await screen.findByRole('link', { name: 'Continue to the dashboard' })).toHaveAttribute('href', '/');
  });

  it('says clearly when the token is unknown, used or expired (400 invalid_token)', async () => {
    verifyServer({
      signedIn: false,
      verify: () => ({ status: 400, body: { error: { code: 'invalid_token', message: 'This link is not valid.' } } }),
    });
    renderWithProviders(<AppRoutes />, { route: '/verify-email?token=rs_ver_used' });

    await userEvent.click(await screen.findByRole('button', { name: 'Confirm my email address' }));
    expect(await screen.findByRole('heading', { name: 'This confirmation link is not valid' })).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent(/already been used, has expired/);
  });

  it('lets a signed-in user whose address is unconfirmed ask for a new link when this one is not valid', async () => {
    const requests = verifyServer({
      signedIn: true,
      verify: () => ({ status: 400, body: { error: { code: 'invalid_token', message: 'This link is not valid.' } } }),
      resend: () => ({ status: 202, body: { email: user.email } }),
    });
    renderWithProviders(<AppRoutes />, { route: '/verify-email?token=rs_ver_expired' });

    await userEvent.click(await screen.findByRole('button', { name: 'Confirm my email address' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Send me a new link' }));
    expect(await screen.findByRole('status')).toHaveTextContent(`A new confirmation link is on its way to ${user.email}.`);
    expect(posts(requests).map((request) => request.url)).toEqual([
      '/api/v1/auth/verify-email',
      '/api/v1/auth/verify-email/resend',
    ]);
  });

  it('offers no new link to a signed-out visitor', async () => {
    verifyServer({
      signedIn: false,
      verify: () => ({ status: 400, body: { error: { code: 'invalid_token', message: 'This link is not valid.' } } }),
    });
    renderWithProviders(<AppRoutes />, { route: '/verify-email?token=rs_ver_expired' });

    await userEvent.click(await screen.findByRole('button', { name: 'Confirm my email address' }));
    expect(await screen.findByRole('heading', { name: 'This confirmation link is not valid' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Send me a new link' })).toBeNull();
  });

  it('regression: reopened after confirming, tells a signed-in user the address is already confirmed, not that the link is invalid', async () => {
    const requests = verifyServer({
      signedIn: true,
      isVerified: true,
      verify: () => ({ status: 400, body: { error: { code: 'invalid_token', message: 'This link is not valid.' } } }),
    });
    renderWithProviders(<AppRoutes />, { route: '/verify-email?token=rs_ver_used' });

    expect(await screen.findByRole('heading', { name: 'Your email address is already confirmed' })).toBeInTheDocument();
    expect(screen.getByText(/ada@example\.com\) is already confirmed/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Continue to the dashboard' })).toHaveAttribute('href', '/');
    expect(screen.queryByText(/not valid/)).toBeNull();
    expect(posts(requests)).toEqual([]);
  });
});
