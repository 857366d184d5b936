import { useState } from 'react';
import { toast } from 'sonner';
import { Check, Copy } from 'lucide-react';
import { Button } from '../../components/Button';

/** Copies an invitation's link with the clipboard API and confirms it on the button and in a toast. */
export function CopyInviteLinkButton({ link, email }: { link: string; email: string }) {
  const [isCopied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
      toast.success(`Invitation link for ${email} copied`);
    } catch {
      toast.error('The link could not be copied. Select it in the table and copy it by hand.');
    }
  }

  // The button says "Copied" until focus leaves it, so the confirmation does not vanish on a timer.
  return (
    <Button variant="ghost" size="sm" onClick={() => void copy()} onBlur={() => setCopied(false)}>
      {isCopied ? <Check className="size-4 text-emerald-700" aria-hidden /> : <Copy className="size-4" aria-hidden />}
      {/* Icon only on a phone, so the table leaves the width to the addresses. */}
      <span className="max-sm:sr-only">{isCopied ? 'Copied' : 'Copy link'}</span> <span className="sr-only">for {email}</span>
    </Button>
  );
}
