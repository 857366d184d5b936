import { screen } from '@testing-library/react';
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
    expect(screen.getByRole('note')).toHaveTextContent('The daily limit is above the monthly one');

    await user.clear(screen.getByLabelText('Daily limit'));
    await user.type(screen.getByLabelText('Daily limit'), '10');
    expect(screen.queryByRole('note')).toBeNull();
  });
});
