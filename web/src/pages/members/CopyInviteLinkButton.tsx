import { Check, Copy } from 'lucide-react';
import { Button } from '../../components/Button';
import { useClipboardCopy } from '../../lib/useClipboardCopy';

/** Copies an invitation's link and confirms it on the button and in a toast. */
export function CopyInviteLinkButton({ link, email }: { link: string; email: string }) {
  const { isCopied, copy, reset } = useClipboardCopy(link, {
    copied: `Invitation link for ${email} copied`,
    failed: 'The link could not be copied. Select it in the table and copy it by hand.',
  });
  return (
    <Button variant="ghost" size="sm" onClick={copy} onBlur={reset}>
      {isCopied ? <Check className="size-4 text-emerald-700" aria-hidden /> : <Copy className="size-4" aria-hidden />}
      {/* Icon only on a phone, so the table leaves the width to the addresses. */}
      <span className="max-sm:sr-only">{isCopied ? 'Copied' : 'Copy link'}</span> <span className="sr-only">for {email}</span>
    </Button>
  );
}
