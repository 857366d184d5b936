import { cn } from '../lib/cn';

/**
 * An email address that wraps before its "@" (a narrow table cell on a phone broke it as
 * "olivia@acme.tes / t"); only a part too long for the box on its own line breaks inside, so the
 * address is always shown whole. The full address is also in the tooltip.
 */
export function EmailText({ email, className }: { email: string; className?: string }) {
  const at = email.lastIndexOf('@');
  return (
    <p className={cn('break-words', className)} title={email}>
      {at > 0 ? (
        <>
          {email.slice(0, at)}
          <wbr />
          {email.slice(at)}
        </>
      ) : (
        email
      )}
    </p>
  );
}
