import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../../AppRoutes';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';

/** POST /auth/password-reset answers with `reset`; anything else is not expected. */
function resetServer(reset: (request: RecordedRequest) => { status: number; body?: unknown }) {
  return mockFetch((request) => {
    if (request.method === 'POST' && request.url === '/api/v1/auth/password-reset') return reset(request);
    return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
  });
}

const posts = (requests: RecordedRequest[]) => requests.filter((request) => request.method === 'POST');

describe('ForgotPasswordPage (asking for a reset link)', () => {
  it('is linked from the login page, with the address typed there', async () => {
    resetServer(() => ({ status: 202, body: {} }));
    renderWithProviders(<AppRoutes />, { route: '/login' });

    const link = screen.getByRole('link', { name: 'Forgot your password?' });
    expect(link).toHaveAttribute('href', '/forgot-password');
    await userEvent.type(screen.getByLabelText('Email'), 'ada@example.com');
    expect(link).toHaveAttribute('href', '/forgot-password?email=ada%40example.com');

    await userEvent.click(link);
    expect(await screen.findByRole('heading', { name: 'Reset your password' })).toBeInTheDocument();
    expect(screen.getByLabelText('Email')).toHaveValue('ada@example.com');
  });

  it('sends the address and answers neutrally, whether or not an account uses it', async () => {
    const requests = resetServer(() => ({ status: 202, body: {} }));
    renderWithProviders(<AppRoutes />, { route: '/forgot-password' });

    await userEvent.type(screen.getByLabelText('Email'), '  ada@example.com ');
    await userEvent.click(screen.getByRole('button', { name: 'Send reset link' }));

    expect(await screen.findByRole('status')).toHaveTextContent(
      'If an account uses ada@example.com, we sent a link to reset its password. It works for one hour.',
    );
    expect(posts(requests)).toEqual([
      expect.objectContaining({ url: '/api/v1/auth/password-reset', body: { email: 'ada@example.com' } }),
    ]);
    expect(screen.getByRole('link', { name: 'Back to log in' })).toHaveAttribute('href', '/login?email=ada%40example.com');
  });

  it('prefills the address from ?email=', () => {
    resetServer(() => ({ status: 202, body: {} }));
    renderWithProviders(<AppRoutes />, { route: '/forgot-password?email=grace%40example.com' });

    expect(screen.getByLabelText('Email')).toHaveValue('grace@example.com');
  });

  it('shows invalid_email next to the field, and keeps the form', async () => {
    resetServer(() => ({
      status: 400,
      body: { error: { code: 'invalid_email', message: 'Enter a valid email address, like name@example.com.' } },
    }));
    renderWithProviders(<AppRoutes />, { route: '/forgot-password' });

    await userEvent.type(screen.getByLabelText('Email'), 'ada@');
    await userEvent.click(screen.getByRole('button', { name: 'Send reset link' }));

    expect(await screen.findByText('Enter a valid email address, like name@example.com.')).toBeInTheDocument();
    expect(screen.getByLabelText('Email')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('asks for an address before sending anything', async () => {
    const requests = resetServer(() => ({ status: 202, body: {} }));
    renderWithProviders(<AppRoutes />, { route: '/forgot-password' });

    await userEvent.click(screen.getByRole('button', { name: 'Send reset link' }));

    expect(await screen.findByText('Enter your email address.')).toBeInTheDocument();
    expect(posts(requests)).toEqual([]);
  });
});
