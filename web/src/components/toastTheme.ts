// Colours of the toasts. sonner's own rich colours miss WCAG AA for 13 px text (its success
// green #008a2e on #ecfdf3 is 4.25:1, the warning orange about 3:1), so every variant sets its
// text, background and border here (descriptions inherit the text colour under richColors);
// toastTheme.test.ts checks each pair against 4.5:1.
import type { CSSProperties } from 'react';

export interface ToastColours {
  background: string;
  border: string;
  text: string;
}

export const toastColours = {
  normal: { background: '#ffffff', border: '#e4e4e7', text: '#18181b' },
  success: { background: '#ecfdf3', border: '#a7f3d0', text: '#065f46' },
  info: { background: '#eff6ff', border: '#bfdbfe', text: '#1e40af' },
  warning: { background: '#fffbeb', border: '#fde68a', text: '#92400e' },
  error: { background: '#fef2f2', border: '#fecaca', text: '#991b1b' },
} as const satisfies Record<string, ToastColours>;

/** sonner reads its colours from these CSS variables on the toaster element. */
export function toasterStyle(): CSSProperties {
  const style: Record<string, string> = {};
  for (const [variant, colours] of Object.entries(toastColours)) {
    style[`--${variant}-bg`] = colours.background;
    style[`--${variant}-border`] = colours.border;
    style[`--${variant}-text`] = colours.text;
  }
  return style;
}

/** WCAG 2 contrast ratio of two #rrggbb colours. */
export function contrastRatio(foreground: string, background: string): number {
  const [lighter, darker] = [luminance(foreground), luminance(background)].sort((a, b) => b - a) as [number, number];
  return (lighter + 0.05) / (darker + 0.05);
}

function luminance(hex: string): number {
  const channels = [1, 3, 5].map((start) => parseInt(hex.slice(start, start + 2), 16) / 255);
  const [red, green, blue] = channels.map((value) => (value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4)) as [
    number,
    number,
    number,
  ];
  return 0.2126 * red + 0.7152 * green + 0.0722 * blue;
}
