import { useState, type FormEvent, type ReactNode } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { Building2 } from 'lucide-react';
import * as api from '../../api/client';
import { queryKeys, usePublicInvite } from '../../api/queries';
import { ApiError } from '../../api/errors';
import { Button } from '../../components/Button';
import { Alert, LoadingBlock } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { useSignedInRedirect } from '../../components/guards';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';
import { periodAfter } from '../../lib/format';
import { safeNextPath } from '../../lib/navigation';
import { AuthLayout } from './AuthLayout';

type SignupField = 'name' | 'email' | 'password';

export function SignupPage() {
  const [searchParams] = useSearchParams();
  const inviteToken = searchParams.get('invite') ?? '';
  return inviteToken ? <InvitedSignup inviteToken={inviteToken} /> : <SignupForm />;
}

function InvitedSignup({ inviteToken }: { inviteToken: string }) {
  const invite = usePublicInvite(inviteToken);
  const usable = invite.data?.status === 'pending';
  if (invite.isPending) {
    return (
      <AuthLayout title="Create your account to join">
        <LoadingBlock label="Checking the invitation…" />
      </AuthLayout>
    );
  }
  return (
    <SignupForm
      inviteToken={usable ? inviteToken : undefined}
      invitedEmail={usable ? invite.data?.email : undefined}
      banner={
        invite.data && usable ? (
          <div className="mb-4 flex items-center gap-3 rounded-xl bg-white px-4 py-3 text-sm shadow-sm ring-1 ring-zinc-200">
            <span className="rounded-lg bg-brand-50 p-2 text-brand-700">
              <Building2 className="size-4" aria-hidden />
            </span>
            <span>
              <span className="font-medium text-zinc-900">{invite.data.inviter?.name ?? 'An administrator'}</span> invited you to
              join <span className="font-medium text-zinc-900">{invite.data.org.name}</span>
              {periodAfter(invite.data.org.name)}
            </span>
          </div>
        ) : invite.isError || (invite.data && !usable) ? (
          <Alert tone="warning" className="mb-4">
            This invitation can no longer be used. You can still create an account; ask your admin for a new invitation to join
            their organization.
          </Alert>
        ) : null
      }
    />
  );
}

function SignupForm({ inviteToken, invitedEmail, banner }: { inviteToken?: string; invitedEmail?: string; banner?: ReactNode }) {
  const [searchParams] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [email, setEmail] = useState(invitedEmail ?? searchParams.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors<SignupField>>({});
  const [isSubmitting, setSubmitting] = useState(false);
  const [hasSignedIn, setHasSignedIn] = useState(false);
  // Signed in already: on to `next`, or to the invitation this signup was for.
  const signedInRedirect = useSignedInRedirect(
    safeNextPath(searchParams.get('next'), inviteToken ? `/invite/${encodeURIComponent(inviteToken)}` : '/'),
    hasSignedIn,
  );

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const missing: FieldErrors<SignupField> = {};
    if (!name.trim()) missing.name = 'Enter your name.';
    if (!email.trim()) missing.email = 'Enter your email address.';
    if (!password) missing.password = 'Choose a password.';
    setErrors(missing);
    if (Object.keys(missing).length > 0) return;
    setSubmitting(true);
    try {
      await api.signup({
        name: name.trim(),
        email: email.trim(),
        password,
        ...(inviteToken ? { invite_token: inviteToken } : {}),
      });
      setHasSignedIn(true);
      queryClient.clear();
      const me = await queryClient.fetchQuery({ queryKey: queryKeys.me, queryFn: api.getMe });
      const afterOnboarding = me.org ? '/settings/members' : safeNextPath(searchParams.get('next'), '/create-org');
      void navigate(`/onboarding?next=${encodeURIComponent(afterOnboarding)}`, { replace: true });
    } catch (error) {
      const placed = toFieldErrors(
        error,
        { invalid_email: 'email', email_taken: 'email', weak_password: 'password', invalid_name: 'name' },
        ['name', 'email', 'password'] as const,
      );
      if (error instanceof ApiError && error.code === 'email_taken' && inviteToken) {
        // The server's sentence already says "Log in instead"; say it once, for the invitation.
        placed.email = 'An account with this email already exists. Log in to accept the invitation instead.';
      }
      setErrors(placed);
    } finally {
      setSubmitting(false);
    }
  }

  if (signedInRedirect) return signedInRedirect;

  const loginLink = inviteToken
    ? `/login?next=${encodeURIComponent(`/invite/${inviteToken}`)}&email=${encodeURIComponent(email)}`
    : searchParams.get('next')
      ? `/login?next=${encodeURIComponent(safeNextPath(searchParams.get('next')))}`
      : '/login';
  return (
    <AuthLayout
      title={inviteToken ? 'Create your account to join' : 'Create your Roster account'}
      subtitle={
        inviteToken
          ? 'Your account is created and the invitation accepted in one step.'
          : 'Start with a Team plan, invite your colleagues, and stay in control of seats and usage.'
      }
      aside={banner}
      footer={
        <>
          Already have an account?{' '}
          <Link to={loginLink} className="font-medium text-brand-700 hover:underline">
            Log in
          </Link>
        </>
      }
    >
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
        <TextField
          label="Name"
          autoComplete="name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          error={errors.name}
          autoFocus
        />
        <TextField
          label="Email"
          type="email"
          autoComplete="email"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={errors.email}
          readOnly={Boolean(invitedEmail)}
          hint={invitedEmail ? 'The invitation was sent to this address.' : undefined}
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={errors.password}
          hint="Use a long password that you don't use anywhere else."
        />
        <Button type="submit" className="w-full" isLoading={isSubmitting}>
          {inviteToken ? 'Sign up and accept' : 'Sign up'}
        </Button>
      </form>
    </AuthLayout>
  );
}
