import { Check, Copy } from 'lucide-react';
import { Button } from '../../components/Button';
import { useClipboardCopy } from '../../lib/useClipboardCopy';

/** Copies a new API token and confirms it on the button and in a toast. */
export function CopyTokenButton({ token }: { token: string }) {
  const { isCopied, copy, reset } = useClipboardCopy(token, {
    copied: 'API token copied',
    failed: 'The token could not be copied. Select it in the field and copy it by hand.',
  });
  return (
    <Button variant="secondary" onClick={copy} onBlur={reset}>
      {isCopied ? <Check className="size-4 text-emerald-700" aria-hidden /> : <Copy className="size-4" aria-hidden />}
      {isCopied ? 'Copied' : 'Copy token'}
    </Button>
  );
}
