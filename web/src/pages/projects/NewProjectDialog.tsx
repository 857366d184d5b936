import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useMutation } from '@tanstack/react-query';
import { toast } from 'sonner';
import * as api from '../../api/client';
import { useRefreshProjects } from '../../api/queries';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { TextAreaField, TextField } from '../../components/Field';
import { Dialog } from '../../components/Dialog';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';

export function NewProjectDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FieldErrors<'name' | 'description'>>({});
  const refreshProjects = useRefreshProjects();
  const navigate = useNavigate();

  const create = useMutation({
    mutationFn: api.createProject,
    meta: { inlineErrors: true },
    onSuccess: ({ project }) => {
      toast.success(`Project ${project.name} created`);
      void refreshProjects();
      close(false);
      void navigate(`/projects/${encodeURIComponent(project.id)}`);
    },
    onError: (error) => setErrors(toFieldErrors(error, {}, ['name', 'description'] as const)),
  });

  function close(next: boolean) {
    onOpenChange(next);
    if (!next) {
      setName('');
      setDescription('');
      setErrors({});
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) {
      setErrors({ name: 'Enter a name for the project.' });
      return;
    }
    setErrors({});
    create.mutate({ name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}) });
  }

  return (
    <Dialog open={open} onOpenChange={close} title="New project" description="You become its first editor.">
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
        <TextField
          label="Name"
          autoComplete="off"
          value={name}
          onChange={(event) => setName(event.target.value)}
          error={errors.name}
          autoFocus
        />
        <TextAreaField
          label="Description (optional)"
          rows={3}
          value={description}
          onChange={(event) => setDescription(event.target.value)}
          error={errors.description}
          className="font-sans"
        />
        <div className="flex justify-end gap-2 pt-2">
          <Button variant="secondary" onClick={() => close(false)}>
            Cancel
          </Button>
          <Button type="submit" isLoading={create.isPending}>
            Create project
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
