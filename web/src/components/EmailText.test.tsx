import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { EmailText } from './EmailText';

describe('EmailText', () => {
  it('offers a line break before the "@", and shows the address whole with the full address in the tooltip', () => {
    render(<EmailText email="olivia@acme.test" className="text-xs" />);
    const text = screen.getByText('olivia@acme.test');
    expect(text).toHaveAttribute('title', 'olivia@acme.test');
    expect(text.innerHTML).toBe('olivia<wbr>@acme.test');
    // break-words (overflow-wrap: break-word) breaks inside a part only when it alone overflows;
    // break-all or overflow-wrap: anywhere would let a table cell shrink to a few letters.
    expect(text).toHaveClass('break-words', 'text-xs');
    expect(text.className).not.toMatch(/break-all|text-ellipsis|wrap-anywhere/);
  });

  it('shows a value without an "@" as it is', () => {
    render(<EmailText email="no-address" />);
    expect(screen.getByText('no-address').innerHTML).toBe('no-address');
  });
});
