import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import * as api from '../../api/client';
import { queryKeys } from '../../api/queries';
import { isApiError } from '../../api/errors';
import type { User } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert, Badge, Card, CardHeader } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';
import { messageWithWait } from './rateLimit';

/** Email (read-only, with its verification) and the display name, which PATCH /me changes. */
export function ProfileCard({ user }: { user: User }) {
  return (
    <Card>
      <CardHeader title="Profile" description="How you appear to the people you work with." />
      <div className="space-y-5 px-5 py-5">
        <div>
          <p className="text-sm font-medium text-zinc-500">Email</p>
          <p className="mt-1 flex flex-wrap items-center gap-2 text-sm text-zinc-900">
            <span className="break-all">{user.email}</span>
            {user.email_verified ? <Badge tone="green">Verified</Badge> : <Badge tone="amber">Not verified</Badge>}
          </p>
        </div>
        {user.email_verified ? null : <ResendConfirmation email={user.email} />}
        <DisplayNameForm name={user.name} />
      </div>
    </Card>
  );
}

function ResendConfirmation({ email }: { email: string }) {
  const queryClient = useQueryClient();
  const resend = useMutation({
    mutationFn: () => api.resendVerification(),
    meta: { inlineErrors: true },
    onError: (error) => {
      // Confirmed meanwhile (in another tab, from the email): /me says so, and this block goes away.
      if (isApiError(error, 'email_already_verified')) void queryClient.invalidateQueries({ queryKey: queryKeys.me });
    },
  });
  if (resend.isSuccess) {
    return (
      <p className="text-sm text-zinc-700" role="status">
        A new confirmation email is on its way to {resend.data.email}. Open its link to confirm your address.
      </p>
    );
  }
  return (
    <div className="space-y-3">
      <Alert tone="warning" title="Your email address is not confirmed yet">
        <p>Open the link we sent to {email}. Some things, such as accepting an invitation by its id, wait for it.</p>
        <Button variant="secondary" size="sm" className="mt-3" onClick={() => resend.mutate()} isLoading={resend.isPending}>
          Resend confirmation email
        </Button>
      </Alert>
      {resend.isError ? <Alert tone="error">{messageWithWait(resend.error)}</Alert> : null}
    </div>
  );
}

function DisplayNameForm({ name }: { name: string }) {
  const [value, setValue] = useState(name);
  const [errors, setErrors] = useState<FieldErrors<'name'>>({});
  const queryClient = useQueryClient();
  useEffect(() => setValue(name), [name]);
  const rename = useMutation({
    mutationFn: api.updateMe,
    meta: { inlineErrors: true },
    onSuccess: () => {
      toast.success('Display name saved');
      // The shell shows the name from /me.
      void queryClient.invalidateQueries({ queryKey: queryKeys.me });
    },
    onError: (error) => setErrors(toFieldErrors(error, { invalid_name: 'name' }, ['name'] as const)),
  });
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!value.trim()) {
      setErrors({ name: 'Enter the name your colleagues know you by.' });
      return;
    }
    setErrors({});
    rename.mutate({ name: value.trim() });
  }
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-3">
      {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
      <div className="flex flex-col gap-3 sm:flex-row sm:items-start">
        <TextField
          label="Display name"
          autoComplete="name"
          value={value}
          onChange={(event) => setValue(event.target.value)}
          error={errors.name}
          containerClassName="flex-1"
        />
        <Button
          type="submit"
          variant="secondary"
          className="sm:mt-7"
          isLoading={rename.isPending}
          disabled={value.trim() === name}
        >
          Save name
        </Button>
      </div>
    </form>
  );
}
