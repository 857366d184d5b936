import { useState } from 'react';
import { toast } from 'sonner';

/**
 * Copies `text` with the clipboard API and confirms it in a toast; `isCopied` stays true until
 * `reset` (the buttons call it when focus leaves them, so the confirmation does not vanish on a timer).
 */
export function useClipboardCopy(text: string, messages: { copied: string; failed: string }) {
  const [isCopied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      toast.success(messages.copied);
    } catch {
      toast.error(messages.failed);
    }
  }
  return { isCopied, copy: () => void copy(), reset: () => setCopied(false) };
}
