import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Member } from '../../api/types';
import { mockFetch, renderWithProviders } from '../../test/render';
import { UsageLimitDialog } from './UsageLimitDialog';

const member: Member = {
  user_id: 'u-1',
  email: 'ada@example.com',
  display_name: 'Ada',
  role: 'member',
  status: 'active',
  joined_at: '2025-01-01T00:00:00.000Z',
  usage_limit: { daily: null, monthly: null },
  permissions: ['set_usage_limit'],
};

describe('UsageLimitDialog', () => {
  it('warns when the daily limit is above the monthly one (the daily limit would never apply), and only then', async () => {
    const user = userEvent.setup();
    mockFetch(() => ({ status: 200, body: {} }));
    renderWithProviders(<UsageLimitDialog member={member} onClose={() => {}} />);

    await user.type(await screen.findByLabelText('Daily limit'), '100');
    await user.type(screen.getByLabelText('Monthly limit'), '50');
    expect(screen.getByRole('note')).toHaveTextContent(
      'The daily limit is above the monthly one: the monthly limit will stop usage first.',
    );

    await user.clear(screen.getByLabelText('Daily limit'));
    await user.type(screen.getByLabelText('Daily limit'), '10');
    expect(screen.queryByRole('note')).toBeNull();
  });

  it("regression: refuses a limit above the largest allowed on its field, in the dialog's words, without sending it", async () => {
    const user = userEvent.setup();
    const requests = mockFetch(() => ({ status: 200, body: {} }));
    renderWithProviders(<UsageLimitDialog member={member} onClose={() => {}} />);

    await user.type(await screen.findByLabelText('Daily limit'), '10000000000000000');
    await user.click(screen.getByRole('button', { name: 'Save limits' }));

    expect(screen.getByLabelText('Daily limit')).toHaveAccessibleDescription(
      'Enter a whole number up to 1,000,000,000,000,000, or leave it empty for no limit.',
    );
    expect(screen.getByLabelText('Monthly limit')).toHaveAccessibleDescription('Per UTC calendar month');
    expect(requests.filter((request) => request.method === 'PUT')).toEqual([]);
  });

  it("regression: puts the server's invalid_limit on the field it names, not its API wording at the top", async () => {
    const user = userEvent.setup();
    const requests = mockFetch((request) =>
      request.method === 'PUT'
        ? {
            status: 400,
            body: {
              error: {
                code: 'invalid_limit',
                message: 'Set the monthly limit to a whole number from 0 to 1000000000000000, or null for no limit.',
                details: { field: 'monthly' },
              },
            },
          }
        : { status: 200, body: {} },
    );
    renderWithProviders(<UsageLimitDialog member={member} onClose={() => {}} />);

    await user.type(await screen.findByLabelText('Monthly limit'), '5000');
    await user.click(screen.getByRole('button', { name: 'Save limits' }));

    await waitFor(() =>
      expect(screen.getByLabelText('Monthly limit')).toHaveAccessibleDescription(
        'Enter a whole number up to 1,000,000,000,000,000, or leave it empty for no limit.',
      ),
    );
    expect(screen.getByLabelText('Daily limit')).toHaveAccessibleDescription('Per UTC day');
    expect(screen.queryByText(/or null for no limit/)).toBeNull();
    expect(requests.filter((request) => request.method === 'PUT').map((request) => request.body)).toEqual([
      { daily: null, monthly: 5000 },
    ]);
  });

  it('regression: accepts thousands separators (commas, spaces, underscores) and sends the number', async () => {
    const user = userEvent.setup();
    const requests = mockFetch(() => ({ status: 200, body: {} }));
    renderWithProviders(<UsageLimitDialog member={member} onClose={() => {}} />);

    await user.type(await screen.findByLabelText('Daily limit'), '1,000');
    await user.type(screen.getByLabelText('Monthly limit'), '25 000');
    await user.click(screen.getByRole('button', { name: 'Save limits' }));
    await waitFor(() =>
      expect(requests.filter((request) => request.method === 'PUT').map((request) => request.body)).toEqual([
        { daily: 1000, monthly: 25000 },
      ]),
    );
  });

  it('regression: warns, without refusing, when a grouped daily limit is above the monthly one, and saves it', async () => {
    const user = userEvent.setup();
    const requests = mockFetch(() => ({ status: 200, body: {} }));
    renderWithProviders(<UsageLimitDialog member={member} onClose={() => {}} />);

    await user.type(await screen.findByLabelText('Daily limit'), '5_000');
    await user.type(screen.getByLabelText('Monthly limit'), '1,000');
    expect(screen.getByRole('note')).toHaveTextContent('The daily limit is above the monthly one');
    await user.click(screen.getByRole('button', { name: 'Save limits' }));
    await waitFor(() =>
      expect(requests.filter((request) => request.method === 'PUT').map((request) => request.body)).toEqual([
        { daily: 5000, monthly: 1000 },
      ]),
    );
  });

  it('still refuses what is not a whole number', async () => {
    const user = userEvent.setup();
    const requests = mockFetch(() => ({ status: 200, body: {} }));
    renderWithProviders(<UsageLimitDialog member={member} onClose={() => {}} />);

    await user.type(await screen.findByLabelText('Daily limit'), '1.5');
    await user.type(screen.getByLabelText('Monthly limit'), '1,,000');
    await user.click(screen.getByRole('button', { name: 'Save limits' }));
    expect(screen.getByLabelText('Daily limit')).toHaveAccessibleDescription(
      'Enter a whole number (such as 1,000), or leave empty for no daily limit.',
    );
    expect(screen.getByLabelText('Monthly limit')).toHaveAccessibleDescription(
      'Enter a whole number (such as 1,000), or leave empty for no monthly limit.',
    );
    expect(requests.filter((request) => request.method === 'PUT')).toEqual([]);
  });
});
