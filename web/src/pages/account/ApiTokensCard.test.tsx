import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { AppRoutes } from '../../AppRoutes';
import { renderWithProviders } from '../../test/render';
import { accountServer, failure, NEW_TOKEN_SECRET, writes } from './accountTestServer';

const ci = { id: 't-ci', name: 'CI deploys', created_at: '2026-01-05T08:00:00.000Z' };

function stubClipboard(writeText: (text: string) => Promise<void>) {
  Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
}

function tokensTable() {
  return within(screen.getByRole('table', { name: 'API tokens' }));
}

describe('ApiTokensCard', () => {
  it('says there are none yet when the list is empty', async () => {
    accountServer();
    renderWithProviders(<AppRoutes />, { route: '/account' });

    expect(await screen.findByText('No API tokens yet')).toBeInTheDocument();
    expect(screen.queryByRole('table', { name: 'API tokens' })).toBeNull();
  });

  it('lists each token by name and creation date, never a secret', async () => {
    accountServer({ tokens: [ci] });
    renderWithProviders(<AppRoutes />, { route: '/account' });

    expect(await screen.findByText('CI deploys')).toBeInTheDocument();
    expect(tokensTable().getByRole('button', { name: 'Revoke CI deploys' })).toBeInTheDocument();
  });

  it('creates a token and shows it once, with a copy button and the warning, then lists it by name only', async () => {
    const { requests } = accountServer();
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await userEvent.click(await screen.findByRole('button', { name: 'Create token' }));
    const form = await screen.findByRole('dialog', { name: 'Create API token' });
    await userEvent.type(within(form).getByLabelText('Token name'), ' Nightly export ');
    await userEvent.click(within(form).getByRole('button', { name: 'Create token' }));

    const shown = await screen.findByRole('dialog', { name: 'Copy your new API token' });
    expect(within(shown).getByLabelText('API token')).toHaveValue(NEW_TOKEN_SECRET);
    expect(within(shown).getByLabelText('API token')).toHaveAttribute('readonly');
    expect(shown).toHaveTextContent('It will not be shown again');
    expect(writes(requests)).toEqual([
      expect.objectContaining({ method: 'POST', url: '/api/v1/tokens', body: { name: 'Nightly export' } }),
    ]);

    const writeText = vi.fn(async () => undefined);
    stubClipboard(writeText);
    await userEvent.click(within(shown).getByRole('button', { name: 'Copy token' }));
    expect(writeText).toHaveBeenCalledWith(NEW_TOKEN_SECRET);
    expect(await within(shown).findByRole('button', { name: 'Copied' })).toBeInTheDocument();
    expect(await screen.findByText('API token copied')).toBeInTheDocument();

    await userEvent.click(within(shown).getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(
      await within(await screen.findByRole('table', { name: 'API tokens' })).findByText('Nightly export'),
    ).toBeInTheDocument();
    // Shown once: gone from the page once the dialog is closed, and the next dialog starts empty.
    expect(screen.queryByDisplayValue(NEW_TOKEN_SECRET)).toBeNull();
    expect(document.body).not.toHaveTextContent(NEW_TOKEN_SECRET);
    await userEvent.click(screen.getByRole('button', { name: 'Create token' }));
    const again = await screen.findByRole('dialog', { name: 'Create API token' });
    expect(within(again).getByLabelText('Token name')).toHaveValue('');
  });

  it('shows 400 invalid_name at the name field and keeps the form', async () => {
    accountServer({ write: failure(400, 'invalid_name', 'Name the token with 1 to 100 characters, on one line.') });
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await userEvent.click(await screen.findByRole('button', { name: 'Create token' }));
    const form = await screen.findByRole('dialog', { name: 'Create API token' });
    const name = within(form).getByLabelText('Token name');
    name.focus();
    await userEvent.paste('x'.repeat(101));
    await userEvent.click(within(form).getByRole('button', { name: 'Create token' }));

    expect(await within(form).findByText('Name the token with 1 to 100 characters, on one line.')).toBeInTheDocument();
    expect(name).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByRole('dialog', { name: 'Copy your new API token' })).toBeNull();
  });

  it('revokes a token only after the confirmation, then drops it from the list', async () => {
    const { requests } = accountServer({ tokens: [ci] });
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await userEvent.click(await screen.findByRole('button', { name: 'Revoke CI deploys' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Revoke the API token CI deploys?' });
    expect(writes(requests)).toEqual([]);

    // Cancelling sends nothing.
    await userEvent.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(writes(requests)).toEqual([]);

    await userEvent.click(screen.getByRole('button', { name: 'Revoke CI deploys' }));
    const again = await screen.findByRole('alertdialog', { name: 'Revoke the API token CI deploys?' });
    await userEvent.click(within(again).getByRole('button', { name: 'Revoke token' }));

    expect(await screen.findByText('API token CI deploys revoked')).toBeInTheDocument();
    expect(writes(requests)).toEqual([expect.objectContaining({ method: 'DELETE', url: '/api/v1/tokens/t-ci' })]);
    expect(await screen.findByText('No API tokens yet')).toBeInTheDocument();
  });

  it('shows a refused revocation in the confirmation and refreshes the list (404 token_not_found)', async () => {
    accountServer({ tokens: [ci], write: failure(404, 'token_not_found', 'No API token with this id exists.') });
    renderWithProviders(<AppRoutes />, { route: '/account' });

    await userEvent.click(await screen.findByRole('button', { name: 'Revoke CI deploys' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Revoke the API token CI deploys?' });
    await userEvent.click(within(confirm).getByRole('button', { name: 'Revoke token' }));

    expect(await within(confirm).findByRole('alert')).toHaveTextContent('No API token with this id exists.');
  });
});
