import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import * as api from '../../api/client';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';
import { AuthLayout } from '../auth/AuthLayout';

const linkClass = 'font-medium text-brand-700 hover:underline';

/** Asks for a password reset link. The reply is the same whether or not an account uses the address. */
export function ForgotPasswordPage() {
  const [searchParams] = useSearchParams();
  const [email, setEmail] = useState(searchParams.get('email') ?? '');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [errors, setErrors] = useState<FieldErrors<'email'>>({});
  const [isSubmitting, setSubmitting] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const address = email.trim();
    if (!address) {
      setErrors({ email: 'Enter your email address.' });
      return;
    }
    setErrors({});
    setSubmitting(true);
    try {
      await api.requestPasswordReset(address);
      setSentTo(address);
    } catch (error) {
      setErrors(toFieldErrors(error, { invalid_email: 'email' }, ['email'] as const));
    } finally {
      setSubmitting(false);
    }
  }

  const address = sentTo ?? email.trim();
  const loginPath = address ? `/login?email=${encodeURIComponent(address)}` : '/login';

  if (sentTo) {
    return (
      <AuthLayout
        title="Check your email"
        footer={
          <Link to={loginPath} className={linkClass}>
            Back to log in
          </Link>
        }
      >
        {/* Neutral on purpose: the server never says whether an account uses the address. */}
        <p className="text-sm text-zinc-700" role="status">
          If an account uses {sentTo}, we sent a link to reset its password. It works for one hour.
        </p>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout
      title="Reset your password"
      subtitle="Enter the email address of your account and we will send you a link to choose a new password."
      footer={
        <>
          Remembered it?{' '}
          <Link to={loginPath} className={linkClass}>
            Log in
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
        <Button type="submit" className="w-full" isLoading={isSubmitting}>
          Send reset link
        </Button>
      </form>
    </AuthLayout>
  );
}
