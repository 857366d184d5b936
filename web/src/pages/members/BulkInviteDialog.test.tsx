import { useState } from 'react';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders, type RecordedRequest } from '../../test/render';
import { BulkInviteDialog } from './BulkInviteDialog';
import { seatShortfallMessage, summarizeBulkResults } from './bulkSummary';

const PASTED = 'Ada <ada@example.com>, grace@example.com\nGRACE@example.com; bob@ taken@example.com';

const dryRunAnswer = {
  results: [
    { email: 'ada@example.com', ok: true },
    { email: 'grace@example.com', ok: true },
    { email: 'bob@', ok: false, error: { code: 'invalid_email', message: 'bob@ is not a valid email address.' } },
    {
      email: 'taken@example.com',
      ok: false,
      error: { code: 'already_member', message: 'taken@example.com is already a member.' },
    },
  ],
  invited: 2,
  failed: 2,
};

const sendAnswer = {
  results: [
    { email: 'ada@example.com', ok: true, invite_id: 'i-1' },
    { email: 'grace@example.com', ok: true, invite_id: 'i-2' },
    { email: 'bob@', ok: false, error: { code: 'invalid_email', message: 'bob@ is not a valid email address.' } },
    {
      email: 'taken@example.com',
      ok: false,
      error: { code: 'already_member', message: 'taken@example.com is already a member.' },
    },
  ],
  invited: 2,
  failed: 2,
};

function bulkServer(overLimit = false) {
  return mockFetch((request: RecordedRequest) => {
    if (request.url === '/api/v1/org/invites/bulk' && request.method === 'POST') {
      if (overLimit) {
        return {
          status: 400,
          body: {
            error: {
              code: 'bulk_limit_exceeded',
              message: 'Too many addresses.',
              details: { limit: 100, count: 130 },
            },
          },
        };
      }
      const body = request.body as { dry_run?: boolean };
      return { status: 200, body: body.dry_run ? dryRunAnswer : sendAnswer };
    }
    // Refreshes after sending (org, members, invites…) are not this component's concern.
    return { status: 200, body: {} };
  });
}

describe('BulkInviteDialog', () => {
  it('previews with a dry run, then sends and reports each address with a toast', async () => {
    const user = userEvent.setup();
    const requests = bulkServer();
    document.cookie = 'roster_csrf=csrf-123';
    renderWithProviders(<BulkInviteDialog open onOpenChange={() => undefined} />);

    await user.click(screen.getByLabelText('Addresses'));
    await user.paste(PASTED);
    await user.click(screen.getByRole('button', { name: 'Extract emails' }));

    const preview = await screen.findByRole('region', { name: 'Preview' });
    expect(within(preview).getByTestId('bulk-preview-summary')).toHaveTextContent(
      '4 distinct addresses found · 2 ready to invite · 1 invalid · 1 cannot be invited',
    );
    expect(within(preview).getByText('Ready to invite (2)')).toBeInTheDocument();
    expect(within(preview).getByText('Invalid or not possible (2)')).toBeInTheDocument();
    expect(within(preview).getByText('bob@ is not a valid email address.')).toBeInTheDocument();
    expect(within(preview).getByText('taken@example.com is already a member.')).toBeInTheDocument();

    const bulkCalls = () => requests.filter((request) => request.url === '/api/v1/org/invites/bulk');
    expect(bulkCalls()).toHaveLength(1);
    expect(bulkCalls()[0]).toMatchObject({
      method: 'POST',
      body: { text: PASTED, role: 'member', dry_run: true },
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'csrf-123' },
    });

    await user.click(screen.getByRole('button', { name: 'Send invitations' }));

    const results = await screen.findByRole('region', { name: 'Results' });
    expect(within(results).getByText('Invited (2)')).toBeInTheDocument();
    expect(within(results).getByText('Failed (2)')).toBeInTheDocument();
    expect(within(results).getByText('ada@example.com')).toBeInTheDocument();
    expect(await screen.findByText('2 invitations sent, 2 failed', { selector: '[data-sonner-toast] *' })).toBeInTheDocument();
    expect(bulkCalls()).toHaveLength(2);
    expect(bulkCalls()[1]?.body).toEqual({ text: PASTED, role: 'member' });
  });

  it('explains the limit and sends nothing when there are too many addresses', async () => {
    const user = userEvent.setup();
    const requests = bulkServer(true);
    renderWithProviders(<BulkInviteDialog open onOpenChange={() => undefined} />);

    await user.type(screen.getByLabelText('Addresses'), 'a@example.com b@example.com');
    await user.click(screen.getByRole('button', { name: 'Extract emails' }));

    expect(
      await screen.findByText(
        'You entered 130 distinct addresses, but one bulk invitation allows at most 100. Remove 30 and try again — nothing has been sent.',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Send invitations' })).not.toBeInTheDocument();
    expect(requests.every((request) => (request.body as { dry_run?: boolean }).dry_run === true)).toBe(true);
  });

  it('asks for a fresh preview when the list is edited after extracting', async () => {
    const user = userEvent.setup();
    bulkServer();
    renderWithProviders(<BulkInviteDialog open onOpenChange={() => undefined} />);

    await user.type(screen.getByLabelText('Addresses'), 'ada@example.com');
    await user.click(screen.getByRole('button', { name: 'Extract emails' }));
    await screen.findByRole('region', { name: 'Preview' });
    await user.type(screen.getByLabelText('Addresses'), ' more@example.com');

    expect(screen.queryByRole('region', { name: 'Preview' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Extract emails' })).toBeEnabled();
    expect(screen.queryByRole('button', { name: 'Send invitations' })).not.toBeInTheDocument();
  });
});

/** The dialog behind a button that opens it, as on the Members page. */
function BulkInviteLauncher() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Bulk invite
      </button>
      <BulkInviteDialog open={open} onOpenChange={setOpen} />
    </>
  );
}

describe('BulkInviteDialog opened again', () => {
  it('regression: opens fresh after Send → Done, with focus in the text area, and gives focus back to "Bulk invite"', async () => {
    const user = userEvent.setup();
    bulkServer();
    renderWithProviders(<BulkInviteLauncher />);
    const opener = screen.getByRole('button', { name: 'Bulk invite' });

    await user.click(opener);
    const addresses = await screen.findByLabelText('Addresses');
    await waitFor(() => expect(addresses).toHaveFocus());
    await user.paste(PASTED);
    await user.click(screen.getByRole('button', { name: 'Extract emails' }));
    await user.click(await screen.findByRole('button', { name: 'Send invitations' }));
    await screen.findByRole('region', { name: 'Results' });
    await user.click(screen.getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(opener).toHaveFocus();

    await user.click(opener);
    const dialog = await screen.findByRole('dialog', { name: 'Bulk invite' });
    expect(within(dialog).queryByRole('region', { name: 'Results' })).toBeNull();
    const fresh = within(dialog).getByLabelText('Addresses');
    expect(fresh).toHaveValue('');
    await waitFor(() => expect(fresh).toHaveFocus());
    expect(within(dialog).getByRole('button', { name: 'Extract emails' })).toBeInTheDocument();

    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(opener).toHaveFocus();
  });
});

const seatLimitRefusal = { code: 'seat_limit', message: 'All 3 seats are in use. Revoke a pending invitation or add seats.' };

/** An org with 2 of its 3 seats used, whose caller has these permissions; the dry run answers as the server does. */
function fullishServer(permissions: string[]) {
  return mockFetch((request: RecordedRequest) => {
    if (request.url === '/api/v1/org/invites/bulk') {
      return {
        status: 200,
        body: {
          results: [
            { email: 'ada@example.com', ok: true },
            { email: 'grace@example.com', ok: false, error: seatLimitRefusal },
            { email: 'linus@example.com', ok: false, error: seatLimitRefusal },
          ],
          invited: 1,
          failed: 2,
        },
      };
    }
    if (request.url === '/api/v1/org') {
      const seats = { used: 2, limit: 3, active_members: 2, pending_invites: 0 };
      return { status: 200, body: { org: { id: 'o-1', name: 'Acme', seats }, members: [], role: 'admin', permissions } };
    }
    return { status: 200, body: {} };
  });
}

describe('BulkInviteDialog preview with too few seats', () => {
  it('regression: says how many of the batch fit in the free seats, and links owners and admins to Billing', async () => {
    const user = userEvent.setup();
    fullishServer(['invite', 'manage_billing']);
    renderWithProviders(<BulkInviteDialog open onOpenChange={() => undefined} />);
    await user.click(screen.getByLabelText('Addresses'));
    await user.paste('ada@example.com grace@example.com linus@example.com');
    await user.click(screen.getByRole('button', { name: 'Extract emails' }));

    const preview = await screen.findByRole('region', { name: 'Preview' });
    expect(within(preview).getByTestId('bulk-preview-seats')).toHaveTextContent(
      '1 seat is free: 1 address can be invited, 2 need more seats.',
    );
    expect(await within(preview).findByRole('link', { name: 'Add seats under Billing' })).toHaveAttribute(
      'href',
      '/settings/billing',
    );
    // The server's word on each address stays as it is.
    expect(within(preview).getAllByText(seatLimitRefusal.message)).toHaveLength(2);
  });

  it('offers no Billing link to a caller who cannot manage billing', async () => {
    const user = userEvent.setup();
    fullishServer(['invite']);
    renderWithProviders(<BulkInviteDialog open onOpenChange={() => undefined} />);
    await user.click(screen.getByLabelText('Addresses'));
    await user.paste('ada@example.com grace@example.com linus@example.com');
    await user.click(screen.getByRole('button', { name: 'Extract emails' }));

    const preview = await screen.findByRole('region', { name: 'Preview' });
    expect(within(preview).getByTestId('bulk-preview-seats')).toHaveTextContent('1 seat is free');
    expect(within(preview).queryByRole('link')).toBeNull();
  });
});

describe('seatShortfallMessage', () => {
  const refused = (email: string) => ({ email, ...seatLimitRefusal });
  it('counts what fits and what needs seats, and says nothing when seats were not the reason', () => {
    expect(seatShortfallMessage({ distinct: 1, accepted: [], invalid: [], refused: [refused('a@example.com')] })).toBe(
      'No seat is free: 1 address needs another seat.',
    );
    expect(
      seatShortfallMessage({
        distinct: 3,
        accepted: ['a@example.com', 'b@example.com'],
        invalid: [],
        refused: [refused('c@example.com')],
      }),
    ).toBe('2 seats are free: 2 addresses can be invited, 1 needs another seat.');
    expect(
      seatShortfallMessage({
        distinct: 2,
        accepted: ['a@example.com'],
        invalid: [],
        refused: [{ email: 'b@example.com', code: 'already_member', message: 'Already a member.' }],
      }),
    ).toBeNull();
  });
});

describe('summarizeBulkResults', () => {
  it('separates invitable, invalid and refused addresses', () => {
    expect(summarizeBulkResults(dryRunAnswer.results as Parameters<typeof summarizeBulkResults>[0])).toEqual({
      distinct: 4,
      accepted: ['ada@example.com', 'grace@example.com'],
      invalid: [{ email: 'bob@', message: 'bob@ is not a valid email address.' }],
      refused: [{ email: 'taken@example.com', code: 'already_member', message: 'taken@example.com is already a member.' }],
    });
  });
});
