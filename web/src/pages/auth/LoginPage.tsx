import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import * as api from '../../api/client';
import { queryKeys } from '../../api/queries';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { useSignedInRedirect } from '../../components/guards';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';
import { safeNextPath } from '../../lib/navigation';
import { AuthLayout } from './AuthLayout';

type LoginField = 'email' | 'password';

export function LoginPage() {
  const [searchParams] = useSearchParams();
  const next = safeNextPath(searchParams.get('next'));
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState(searchParams.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors<LoginField>>({});
  const [isSubmitting, setSubmitting] = useState(false);
  const [hasSignedIn, setHasSignedIn] = useState(false);
  const signedInRedirect = useSignedInRedirect(next, hasSignedIn);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const missing: FieldErrors<LoginField> = {};
    if (!email.trim()) missing.email = 'Enter your email address.';
    if (!password) missing.password = 'Enter your password.';
    setErrors(missing);
    if (Object.keys(missing).length > 0) return;
    setSubmitting(true);
    try {
      await api.login({ email: email.trim(), password });
      setHasSignedIn(true);
      queryClient.clear();
      await queryClient.fetchQuery({ queryKey: queryKeys.me, queryFn: api.getMe });
      void navigate(next, { replace: true });
    } catch (error) {
      setErrors(toFieldErrors(error, { invalid_email: 'email' }, ['email', 'password'] as const));
    } finally {
      setSubmitting(false);
    }
  }

  if (signedInRedirect) return signedInRedirect;

  const forgotPasswordLink = email.trim() ? `/forgot-password?email=${encodeURIComponent(email.trim())}` : '/forgot-password';
  const signupLink = searchParams.get('next') ? `/signup?next=${encodeURIComponent(next)}` : '/signup';
  return (
    <AuthLayout
      title="Log in to Roster"
      subtitle="Welcome back. Manage your organization, members and usage."
      footer={
        <>
          New to Roster?{' '}
          <Link to={signupLink} className="font-medium text-brand-700 hover:underline">
            Sign up
          </Link>
        </>
      }
    >
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
        <TextField
          label="Email"
          type="email"
          autoComplete="email"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={errors.email}
          autoFocus
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={errors.password}
        />
        {/* Its own line, not the field's hint: a hint gives way to an error, just when this link is needed. */}
        <p className="text-right text-sm">
          <Link to={forgotPasswordLink} className="font-medium text-brand-700 hover:underline">
            Forgot your password?
          </Link>
        </p>
        <Button type="submit" className="w-full" isLoading={isSubmitting}>
          Log in
        </Button>
      </form>
    </AuthLayout>
  );
}
