import { Link, useSearchParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { MailCheck, MailX } from 'lucide-react';
import * as api from '../../api/client';
import { queryKeys, useMe } from '../../api/queries';
import { errorMessage, isApiError } from '../../api/errors';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { LinkOutcome } from '../auth/LinkOutcome';
import { AuthLayout } from '../auth/AuthLayout';

export const INVALID_LINK_MESSAGE =
  'This confirmation link is not valid: it has already been used, has expired, or was copied incompletely. If your address is already confirmed, there is nothing more to do.';

const linkClass = 'text-sm font-medium text-brand-700 hover:underline';

/**
 * The link of the verification email (`/verify-email?token=rs_ver_…`). Opening it confirms
 * nothing: mail scanners open links, so the address is confirmed only by the button's POST.
 */
export function VerifyEmailPage() {
  const [searchParams] = useSearchParams();
  const token = searchParams.get('token') ?? '';
  const me = useMe();
  const queryClient = useQueryClient();
  const confirm = useMutation({
    mutationFn: () => api.verifyEmail(token),
    meta: { inlineErrors: true },
    // The signed-in user's `email_verified` changes: refetch it (signed out, /me answers null).
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.me }),
  });
  // A signed-in user whose address is still unconfirmed can ask for a new link when this one fails.
  const resend = useMutation({ mutationFn: () => api.resendVerification(), meta: { inlineErrors: true } });
  const isSignedIn = Boolean(me.data);
  const canAskForNewLink = me.data?.user.email_verified === false;
  const nextStep = isSignedIn ? (
    <Link to="/" className={linkClass}>
      Continue to the dashboard
    </Link>
  ) : (
    <Link to="/login" className={linkClass}>
      Log in to continue
    </Link>
  );

  if (confirm.isSuccess) {
    return (
      <LinkOutcome tone="success" icon={<MailCheck className="size-6" aria-hidden />} title="Your email address is confirmed">
        <p className="text-sm text-zinc-700">
          Thank you: {confirm.data.user.email} is confirmed. Everything that needed a confirmed address is open to you now.
        </p>
        {nextStep}
      </LinkOutcome>
    );
  }

  // Signed in with an address confirmed already (say, this link reopened after confirming): the
  // link has been used, but "not valid" would be wrong news.
  if (me.data?.user.email_verified) {
    return (
      <LinkOutcome
        tone="success"
        icon={<MailCheck className="size-6" aria-hidden />}
        title="Your email address is already confirmed"
      >
        <p className="text-sm text-zinc-700">
          Your email address ({me.data.user.email}) is already confirmed: there is nothing more to do.
        </p>
        {nextStep}
      </LinkOutcome>
    );
  }

  const isInvalid = !token || isApiError(confirm.error, 'invalid_token');
  if (isInvalid) {
    return (
      <LinkOutcome tone="warning" icon={<MailX className="size-6" aria-hidden />} title="This confirmation link is not valid">
        <p className="text-sm text-zinc-700" role="alert">
          {INVALID_LINK_MESSAGE}
        </p>
        {canAskForNewLink && resend.isSuccess ? (
          <p className="text-sm text-zinc-700" role="status">
            A new confirmation link is on its way to {resend.data.email}.
          </p>
        ) : null}
        {canAskForNewLink && !resend.isSuccess ? (
          <>
            {resend.isError ? <Alert tone="error">{errorMessage(resend.error)}</Alert> : null}
            <Button variant="secondary" onClick={() => resend.mutate()} isLoading={resend.isPending}>
              Send me a new link
            </Button>
          </>
        ) : null}
        {nextStep}
      </LinkOutcome>
    );
  }

  return (
    <AuthLayout
      title="Confirm your email address"
      subtitle="Confirm that this address is yours to finish setting up your Roster account."
    >
      <div className="space-y-4">
        {confirm.isError ? <Alert tone="error">{errorMessage(confirm.error)}</Alert> : null}
        <Button className="w-full" onClick={() => confirm.mutate()} isLoading={confirm.isPending}>
          Confirm my email address
        </Button>
      </div>
    </AuthLayout>
  );
}
