import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import * as api from '../../api/client';
import { queryKeys } from '../../api/queries';
import type { CreatedApiToken } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { Dialog } from '../../components/Dialog';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';
import { CopyTokenButton } from './CopyTokenButton';

/**
 * Names a new API token, then shows its secret: the only time anyone sees it, since the server
 * keeps only its hash. Closing the dialog forgets it.
 */
export function CreateApiTokenDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FieldErrors<'name'>>({});
  const [created, setCreated] = useState<CreatedApiToken | null>(null);
  const queryClient = useQueryClient();

  const create = useMutation({
    mutationFn: api.createApiToken,
    meta: { inlineErrors: true },
    onSuccess: (token) => {
      setCreated(token);
      void queryClient.invalidateQueries({ queryKey: queryKeys.apiTokens });
    },
    onError: (error) => setErrors(toFieldErrors(error, { invalid_name: 'name' }, ['name'] as const)),
  });

  function close(next: boolean) {
    onOpenChange(next);
    if (!next) {
      setName('');
      setErrors({});
      setCreated(null);
      create.reset();
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) {
      setErrors({ name: 'Name the token after what will use it.' });
      return;
    }
    setErrors({});
    create.mutate({ name: name.trim() });
  }

  if (created) {
    return (
      <Dialog
        open={open}
        onOpenChange={close}
        title="Copy your new API token"
        footer={<Button onClick={() => close(false)}>Done</Button>}
      >
        <div className="space-y-4">
          <Alert tone="warning" title="It will not be shown again">
            Copy the token {created.name} now and keep it somewhere safe. Roster stores only a fingerprint of it: once this dialog
            is closed, nobody can see it again. If it is lost, revoke it and create a new one.
          </Alert>
          <TextField
            label="API token"
            value={created.token}
            readOnly
            autoFocus
            onFocus={(event) => event.currentTarget.select()}
            className="font-mono text-[13px]"
            spellCheck={false}
          />
          <CopyTokenButton token={created.token} />
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog open={open} onOpenChange={close} title="Create API token" description="The token acts as you, with your access.">
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
        <TextField
          label="Token name"
          autoComplete="off"
          value={name}
          onChange={(event) => setName(event.target.value)}
          error={errors.name}
          hint="What will use it, for example “CI deploys”."
          autoFocus
        />
        <div className="flex justify-end gap-2 pt-2">
          <Button variant="secondary" onClick={() => close(false)}>
            Cancel
          </Button>
          <Button type="submit" isLoading={create.isPending}>
            Create token
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
