import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { KeyRound } from 'lucide-react';
import * as api from '../../api/client';
import { queryKeys } from '../../api/queries';
import { isApiError } from '../../api/errors';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';
import { AuthLayout } from '../auth/AuthLayout';
import { LinkOutcome } from '../auth/LinkOutcome';

export const INVALID_RESET_LINK_MESSAGE =
  'This reset link is not valid: it has already been used, has expired (a link works for one hour), or was copied incompletely. Ask for a new one.';

// The same hint as the signup form's password field: the server's weak_password rule is the same.
const PASSWORD_HINT = "Use a long password that you don't use anywhere else.";

/**
 * The link of the password reset email (`/reset-password?token=rs_rst_…`). Opening it sends
 * nothing: mail scanners open links, and the token is used once, so only the form's POST spends it.
 */
export function ResetPasswordPage() {
  const [searchParams] = useSearchParams();
  const token = searchParams.get('token') ?? '';
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors<'password'>>({});
  const [isInvalidLink, setInvalidLink] = useState(false);
  const [isSubmitting, setSubmitting] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!password) {
      setErrors({ password: 'Choose a new password.' });
      return;
    }
    setErrors({});
    setSubmitting(true);
    try {
      await api.confirmPasswordReset({ token, password });
      // The reply set the session cookie: from here on this is a login (same cache reset, same landing).
      queryClient.clear();
      await queryClient.fetchQuery({ queryKey: queryKeys.me, queryFn: api.getMe });
      void navigate('/', { replace: true });
    } catch (error) {
      if (isApiError(error, 'invalid_token')) setInvalidLink(true);
      else setErrors(toFieldErrors(error, { weak_password: 'password' }, ['password'] as const));
    } finally {
      setSubmitting(false);
    }
  }

  if (!token || isInvalidLink) {
    return (
      <LinkOutcome tone="warning" icon={<KeyRound className="size-6" aria-hidden />} title="This reset link is not valid">
        <p className="text-sm text-zinc-700" role="alert">
          {INVALID_RESET_LINK_MESSAGE}
        </p>
        <Link to="/forgot-password" className="text-sm font-medium text-brand-700 hover:underline">
          Ask for a new link
        </Link>
      </LinkOutcome>
    );
  }

  return (
    <AuthLayout
      title="Choose a new password"
      subtitle="Your other sessions and API tokens are signed out when the new password is set."
    >
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={errors.password}
          hint={PASSWORD_HINT}
          autoFocus
        />
        <Button type="submit" className="w-full" isLoading={isSubmitting}>
          Set new password
        </Button>
      </form>
    </AuthLayout>
  );
}
