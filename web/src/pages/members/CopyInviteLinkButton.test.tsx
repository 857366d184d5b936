import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { renderWithProviders } from '../../test/render';
import { CopyInviteLinkButton } from './CopyInviteLinkButton';

const LINK = 'http://roster.test/invite/tok';

function stubClipboard(writeText: (text: string) => Promise<void>) {
  Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
}

describe('CopyInviteLinkButton', () => {
  it('writes the link to the clipboard and confirms it on the button and in a toast', async () => {
    const writeText = vi.fn(async () => undefined);
    renderWithProviders(<CopyInviteLinkButton link={LINK} email="dee@example.com" />);
    stubClipboard(writeText);
    await userEvent.click(screen.getByRole('button', { name: /Copy link\s+for dee@example.com/ }));

    expect(writeText).toHaveBeenCalledWith(LINK);
    expect(await screen.findByRole('button', { name: /Copied\s+for dee@example.com/ })).toBeInTheDocument();
    expect(await screen.findByText('Invitation link for dee@example.com copied')).toBeInTheDocument();
  });

  it('says so when the browser refuses the clipboard, and does not claim it copied', async () => {
    renderWithProviders(<CopyInviteLinkButton link={LINK} email="dee@example.com" />);
    stubClipboard(async () => {
      throw new Error('denied');
    });
    await userEvent.click(screen.getByRole('button', { name: /Copy link\s+for dee@example.com/ }));

    expect(await screen.findByText(/could not be copied/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /Copy link\s+for dee@example.com/ })).toBeInTheDocument();
  });
});
