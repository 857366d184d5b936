import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { toast } from 'sonner';
import * as api from '../../api/client';
import { useRefreshOrg } from '../../api/queries';
import type { InvitableRole } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { SelectField, TextField } from '../../components/Field';
import { Dialog } from '../../components/Dialog';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';

export function InviteMemberDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<InvitableRole>('member');
  const [errors, setErrors] = useState<FieldErrors<'email' | 'role'>>({});
  const refreshOrg = useRefreshOrg();

  const invite = useMutation({
    mutationFn: api.inviteMember,
    meta: { inlineErrors: true },
    onSuccess: ({ invite: created }) => {
      toast.success(`Invitation sent to ${created.email}`);
      void refreshOrg();
      close(false);
    },
    onError: (error) =>
      setErrors(
        toFieldErrors(error, { invalid_email: 'email', already_member: 'email', invite_pending: 'email' }, [
          'email',
          'role',
        ] as const),
      ),
  });

  function close(next: boolean) {
    onOpenChange(next);
    if (!next) {
      setEmail('');
      setRole('member');
      setErrors({});
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!email.trim()) {
      setErrors({ email: 'Enter the email address to invite.' });
      return;
    }
    setErrors({});
    invite.mutate({ email: email.trim(), role });
  }

  return (
    <Dialog
      open={open}
      onOpenChange={close}
      title="Invite member"
      description="They get an email with a link to join. The invitation holds a seat until it is accepted."
    >
      <form id="invite-member-form" onSubmit={onSubmit} noValidate className="space-y-4">
        {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
        <TextField
          label="Email"
          type="email"
          autoComplete="off"
          placeholder="colleague@example.com"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={errors.email}
          autoFocus
        />
        <SelectField
          label="Role"
          value={role}
          onChange={(event) => setRole(event.target.value as InvitableRole)}
          options={[
            { value: 'member', label: 'Member' },
            { value: 'admin', label: 'Admin' },
          ]}
          hint={
            role === 'admin'
              ? 'Admins manage members, invitations, limits and billing.'
              : 'Members use the product; they cannot manage people.'
          }
        />
        <div className="flex justify-end gap-2 pt-2">
          <Button variant="secondary" onClick={() => close(false)}>
            Cancel
          </Button>
          <Button type="submit" isLoading={invite.isPending}>
            Send invitation
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
