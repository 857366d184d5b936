import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../../AppRoutes';
import { renderWithProviders } from '../../test/render';
import { accountServer, failure, writes } from './accountTestServer';

async function changePassword(input: { current: string; next: string; confirmation?: string }) {
  await userEvent.type(await screen.findByLabelText('Current password'), input.current);
  await userEvent.type(screen.getByLabelText('New password'), input.next);
  await userEvent.type(screen.getByLabelText('Confirm new password'), input.confirmation ?? input.next);
  await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
}

const passwordWrites = (requests: Parameters<typeof writes>[0]) =>
  writes(requests).filter((request) => request.url === '/api/v1/auth/password');

describe('PasswordCard', () => {
  it('changes the password, says other sessions were signed out, and clears the fields', async () => {
    const { requests } = accountServer();
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await changePassword({ current: 'old passphrase 1', next: 'a brand new passphrase' });

    const notice = await screen.findByRole('status');
    expect(notice).toHaveTextContent('Your password was changed');
    expect(notice).toHaveTextContent('every other session of your account was signed out');
    expect(passwordWrites(requests)).toEqual([
      expect.objectContaining({
        method: 'POST',
        body: { current_password: 'old passphrase 1', new_password: 'a brand new passphrase' },
      }),
    ]);
    for (const label of ['Current password', 'New password', 'Confirm new password']) {
      expect(screen.getByLabelText(label)).toHaveValue('');
    }
    // This session stays: still on the account page, not sent to log in.
    expect(screen.getByRole('heading', { name: 'Account', level: 1 })).toBeInTheDocument();
  });

  it('checks the confirmation on this side and sends nothing when it differs', async () => {
    const { requests } = accountServer();
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await changePassword({ current: 'old passphrase 1', next: 'a brand new passphrase', confirmation: 'a brand new passfrase' });

    expect(await screen.findByText('This does not match the new password. Type it again.')).toBeInTheDocument();
    expect(screen.getByLabelText('Confirm new password')).toHaveAttribute('aria-invalid', 'true');
    expect(passwordWrites(requests)).toEqual([]);
  });

  it('shows 403 wrong_password at the current-password field', async () => {
    accountServer({ write: failure(403, 'wrong_password', 'Your current password is not right. Nothing was changed.') });
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await changePassword({ current: 'not it at all', next: 'a brand new passphrase' });

    const current = screen.getByLabelText('Current password');
    expect(await screen.findByText('Your current password is not right. Nothing was changed.')).toBeInTheDocument();
    expect(current).toHaveAttribute('aria-invalid', 'true');
    expect(current).toHaveAccessibleDescription('Your current password is not right. Nothing was changed.');
    expect(screen.getByLabelText('New password')).not.toHaveAttribute('aria-invalid');
    expect(screen.queryByText('Your password was changed')).toBeNull();
  });

  it("shows 400 weak_password at the new-password field, with the server's message", async () => {
    accountServer({ write: failure(400, 'weak_password', 'Use at least 10 characters.') });
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await changePassword({ current: 'old passphrase 1', next: 'short' });

    const next = screen.getByLabelText('New password');
    expect(await screen.findByText('Use at least 10 characters.')).toBeInTheDocument();
    expect(next).toHaveAttribute('aria-invalid', 'true');
    expect(next).toHaveAccessibleDescription('Use at least 10 characters.');
    expect(screen.getByLabelText('Current password')).not.toHaveAttribute('aria-invalid');
  });

  it("shows 429 rate_limited above the form with the server's message and the wait", async () => {
    accountServer({
      write: failure(429, 'rate_limited', 'Too many wrong passwords. Wait and try again, or reset your password.', {
        retry_after_seconds: 840,
      }),
    });
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await changePassword({ current: 'guess number eleven', next: 'a brand new passphrase' });

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Too many wrong passwords. Wait and try again, or reset your password.');
    expect(alert).toHaveTextContent('You can try again in about 14 minutes.');
    expect(screen.getByLabelText('Current password')).not.toHaveAttribute('aria-invalid');
  });
});
