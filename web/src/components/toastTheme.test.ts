import { describe, expect, it } from 'vitest';
import { contrastRatio, toastColours, toasterStyle } from './toastTheme';

describe('toast colours', () => {
  it('computes the WCAG ratio (sonner default success green fails, black on white is 21:1)', () => {
    expect(contrastRatio('#008a2e', '#ecfdf3')).toBeCloseTo(4.25, 1);
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
  });

  it.each(Object.entries(toastColours))('gives %s toasts text of at least 4.5:1 (WCAG AA, 13 px)', (_variant, colours) => {
    expect(contrastRatio(colours.text, colours.background)).toBeGreaterThanOrEqual(4.5);
  });

  it('sets the variables sonner reads for every variant', () => {
    const style = toasterStyle() as Record<string, string>;
    for (const variant of ['success', 'info', 'warning', 'error']) {
      expect(style[`--${variant}-text`]).toBe(toastColours[variant as keyof typeof toastColours].text);
      expect(style[`--${variant}-bg`]).toBe(toastColours[variant as keyof typeof toastColours].background);
    }
  });
});
