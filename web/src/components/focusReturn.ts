// Where focus goes back when a dialog closes: the control that opened it. Radix returns focus
// only to its own Trigger element; our dialogs are opened by plain buttons and row-menu items
// (which are gone once the menu closes), so the opener is remembered here.
import { useState } from 'react';

let lastMenuTrigger: HTMLElement | null = null;

/** Called by a row menu when one of its items is chosen: that menu's "…" button opened what follows. */
export function rememberMenuTrigger(trigger: HTMLElement | null): void {
  lastMenuTrigger = trigger;
}

function currentOpener(): HTMLElement | null {
  if (typeof document === 'undefined') return null;
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || active === document.body) return lastMenuTrigger;
  // A menu item disappears with its menu: its menu's trigger stands for it.
  if (active.closest('[role="menu"]')) return lastMenuTrigger;
  return active;
}

/**
 * Remembers the focused control when `open` turns true and returns the handler for Radix's
 * `onCloseAutoFocus` that puts focus back on it (when it is still on the page).
 */
export function useReturnFocus(open: boolean): (event: Event) => void {
  const [opener, setOpener] = useState<HTMLElement | null>(null);
  const [wasOpen, setWasOpen] = useState(open);
  if (open !== wasOpen) {
    // Read during the render that opens the dialog: before Radix moves focus into it.
    setWasOpen(open);
    if (open) setOpener(currentOpener());
  }
  return (event) => {
    if (opener?.isConnected) {
      event.preventDefault();
      opener.focus();
    }
  };
}
