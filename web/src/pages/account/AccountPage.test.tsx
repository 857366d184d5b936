import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AppRoutes } from '../../AppRoutes';
import { renderWithProviders } from '../../test/render';
import { accountServer, failure, writes } from './accountTestServer';

function renderAccount() {
  renderWithProviders(<AppRoutes />, { route: '/account' });
}

describe('AccountPage', () => {
  it('opens for a user in no organization, in the shell, with its link and no org pages', async () => {
    accountServer();
    renderAccount();

    expect(await screen.findByRole('heading', { name: 'Account', level: 1 })).toBeInTheDocument();
    const sidebar = screen.getByRole('complementary');
    expect(within(sidebar).getByRole('link', { name: 'Account' })).toHaveAttribute('href', '/account');
    expect(within(sidebar).getByRole('link', { name: 'Create an organization' })).toHaveAttribute('href', '/create-org');
    expect(within(sidebar).queryByRole('link', { name: 'Members' })).toBeNull();
    expect(within(sidebar).queryByRole('link', { name: 'Projects' })).toBeNull();
  });

  it('shows the email read-only with its verification, and the display name to edit', async () => {
    accountServer();
    renderAccount();

    expect(await screen.findByText('ada@example.com', { selector: 'span' })).toBeInTheDocument();
    expect(screen.getByText('Verified')).toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'Email' })).toBeNull();
    expect(screen.getByLabelText('Display name')).toHaveValue('Ada');
    expect(screen.getByRole('button', { name: 'Save name' })).toBeDisabled();
    expect(screen.queryByRole('button', { name: 'Resend confirmation email' })).toBeNull();
  });

  it('saves the display name with PATCH /me, and the shell shows the new name', async () => {
    const { requests } = accountServer();
    renderAccount();
    const sidebar = within(await screen.findByRole('complementary'));
    expect(await sidebar.findByText('Ada')).toBeInTheDocument();

    const field = screen.getByLabelText('Display name');
    await userEvent.clear(field);
    await userEvent.type(field, '  Ada Lovelace ');
    await userEvent.click(screen.getByRole('button', { name: 'Save name' }));

    expect(await screen.findByText('Display name saved')).toBeInTheDocument();
    expect(writes(requests)).toEqual([
      expect.objectContaining({ method: 'PATCH', url: '/api/v1/me', body: { name: 'Ada Lovelace' } }),
    ]);
    expect(await sidebar.findByText('Ada Lovelace')).toBeInTheDocument();
  });

  it('shows invalid_name at the display-name field', async () => {
    accountServer({ write: failure(400, 'invalid_name', 'Enter your name, on one line.') });
    renderAccount();

    const field = await screen.findByLabelText('Display name');
    await userEvent.type(field, ' the Second');
    await userEvent.click(screen.getByRole('button', { name: 'Save name' }));

    expect(await screen.findByText('Enter your name, on one line.')).toBeInTheDocument();
    expect(field).toHaveAttribute('aria-invalid', 'true');
    expect(field).toHaveAccessibleDescription('Enter your name, on one line.');
  });

  it('refuses an empty display name without asking the server', async () => {
    const { requests } = accountServer();
    renderAccount();

    await userEvent.clear(await screen.findByLabelText('Display name'));
    await userEvent.click(screen.getByRole('button', { name: 'Save name' }));

    expect(await screen.findByText('Enter the name your colleagues know you by.')).toBeInTheDocument();
    expect(writes(requests)).toEqual([]);
  });
});

describe('AccountPage, an address not confirmed yet', () => {
  it('resends the confirmation email and says where it went', async () => {
    const { requests } = accountServer({ user: { email_verified: false } });
    renderAccount();

    expect(await screen.findByText('Not verified')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Resend confirmation email' }));

    expect(await screen.findByText(/A new confirmation email is on its way to ada@example.com/)).toHaveAttribute(
      'role',
      'status',
    );
    expect(writes(requests)).toEqual([expect.objectContaining({ method: 'POST', url: '/api/v1/auth/verify-email/resend' })]);
    expect(screen.queryByRole('button', { name: 'Resend confirmation email' })).toBeNull();
  });

  it("shows 429 rate_limited with the server's message and how long to wait", async () => {
    accountServer({
      user: { email_verified: false },
      write: failure(
        429,
        'rate_limited',
        'A confirmation email was sent 3 times in the last hour. Check your inbox and spam folder, or wait.',
        { retry_after_seconds: 1500 },
      ),
    });
    renderAccount();

    await userEvent.click(await screen.findByRole('button', { name: 'Resend confirmation email' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('A confirmation email was sent 3 times in the last hour.');
    expect(alert).toHaveTextContent('You can try again in about 25 minutes.');
    expect(screen.getByRole('button', { name: 'Resend confirmation email' })).toBeEnabled();
  });

  it('refetches /me when the address was confirmed meanwhile (409 email_already_verified)', async () => {
    const server = accountServer({
      user: { email_verified: false },
      write: (request) => {
        if (request.url !== '/api/v1/auth/verify-email/resend') return undefined;
        server.state.user = { ...server.state.user, email_verified: true };
        return failure(409, 'email_already_verified', 'ada@example.com is already confirmed: there is nothing to do.')();
      },
    });
    renderAccount();

    await userEvent.click(await screen.findByRole('button', { name: 'Resend confirmation email' }));

    expect(await screen.findByText('Verified')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Resend confirmation email' })).toBeNull());
  });
});
