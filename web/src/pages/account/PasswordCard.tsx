import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import * as api from '../../api/client';
import { Button } from '../../components/Button';
import { Alert, Card, CardHeader } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';
import { messageWithWait } from './rateLimit';
import { SuccessNotice } from './SuccessNotice';

// The same hint as signup and reset: the server's weak_password rule is the same.
const PASSWORD_HINT = "Use a long password that you don't use anywhere else.";

type PasswordField = 'current' | 'next' | 'confirmation';

const emptyForm: Record<PasswordField, string> = { current: '', next: '', confirmation: '' };

/**
 * POST /auth/password: the current password proves it is the account's owner at this keyboard.
 * This session stays signed in; the server signs out every other one (API tokens stay).
 */
export function PasswordCard() {
  const [form, setForm] = useState(emptyForm);
  const [errors, setErrors] = useState<FieldErrors<PasswordField>>({});
  const change = useMutation({
    mutationFn: api.changePassword,
    meta: { inlineErrors: true },
    onSuccess: () => {
      // Nothing typed here should outlive the change (a shared screen, the browser's form memory).
      setForm(emptyForm);
      setErrors({});
    },
    onError: (error) => {
      const placed = toFieldErrors(error, { wrong_password: 'current', weak_password: 'next' }, ['current', 'next'] as const);
      // A 429 names the wait; the server's sentence alone says only "wait".
      setErrors(placed.form ? { form: messageWithWait(error) } : placed);
    },
  });

  function update(field: PasswordField, value: string) {
    setForm((current) => ({ ...current, [field]: value }));
    if (change.isSuccess) change.reset();
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const problems: FieldErrors<PasswordField> = {};
    if (!form.current) problems.current = 'Enter your current password.';
    if (!form.next) problems.next = 'Choose a new password.';
    else if (form.confirmation !== form.next) problems.confirmation = 'This does not match the new password. Type it again.';
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    change.mutate({ current_password: form.current, new_password: form.next });
  }

  return (
    <Card>
      <CardHeader
        title="Password"
        description="Changing it signs you out everywhere else: other browsers and devices must sign in again. Your API tokens keep working."
      />
      <form onSubmit={onSubmit} noValidate className="max-w-lg space-y-4 px-5 py-5">
        {change.isSuccess ? (
          <SuccessNotice title="Your password was changed">
            You stay signed in here; every other session of your account was signed out. We emailed you a notice of the change.
          </SuccessNotice>
        ) : null}
        {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
        <TextField
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={form.current}
          onChange={(event) => update('current', event.target.value)}
          error={errors.current}
        />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          value={form.next}
          onChange={(event) => update('next', event.target.value)}
          error={errors.next}
          hint={PASSWORD_HINT}
        />
        <TextField
          label="Confirm new password"
          type="password"
          autoComplete="new-password"
          value={form.confirmation}
          onChange={(event) => update('confirmation', event.target.value)}
          error={errors.confirmation}
        />
        <Button type="submit" isLoading={change.isPending}>
          Change password
        </Button>
      </form>
    </Card>
  );
}
