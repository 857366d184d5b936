import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { toast } from 'sonner';
import * as api from '../../api/client';
import { useRefreshProjects } from '../../api/queries';
import { errorMessage, isApiError } from '../../api/errors';
import type { Project, UpdateProjectInput } from '../../api/projects';
import { Button } from '../../components/Button';
import { Alert, Card, CardHeader } from '../../components/Feedback';
import { TextAreaField, TextField } from '../../components/Field';
import { toFieldErrors, type FieldErrors } from '../../lib/formErrors';
import { readOnlyReason } from './access';
import { LoseAccessCard } from './LoseAccessCard';
import { formatSettings, parseSettings } from './settingsJson';

const SETTINGS_HINT = 'A JSON object that your product stores with the project (at most 64 KiB).';

export function ProjectSettingsTab({ project }: { project: Project }) {
  const canEdit = project.permissions.includes('edit_project');
  // Why the last save was refused when the caller's access changed meanwhile (403): it stays on
  // screen while the refetched project turns the form read-only, so the switch is explained.
  const [refusal, setRefusal] = useState<string | null>(null);
  const canDelete = project.permissions.includes('delete_project');
  // Remount the form when the server's copy changes (after a save), so it shows what is stored.
  const formKey = [project.id, project.name, project.description ?? '', formatSettings(project.settings)].join('\u0000');
  return (
    <div className="space-y-6">
      <Card>
        <CardHeader title="Settings" description="The project’s name, description and the settings your product reads." />
        <div className="px-4 py-5 sm:px-5">
          {refusal ? (
            <Alert tone="error" title="Your changes were not saved" className="mb-4">
              {refusal}
            </Alert>
          ) : null}
          {canEdit ? (
            <ProjectSettingsForm key={formKey} project={project} onRefused={setRefusal} />
          ) : (
            <ReadOnlySettings project={project} />
          )}
        </div>
      </Card>
      {canDelete ? <DeleteProjectCard project={project} /> : null}
    </div>
  );
}

function settingsRows(text: string): number {
  return Math.min(20, Math.max(6, text.split('\n').length + 1));
}

function ReadOnlySettings({ project }: { project: Project }) {
  const settingsText = formatSettings(project.settings);
  return (
    <div className="space-y-4">
      <Alert tone="info">{readOnlyReason(project)}</Alert>
      <TextField label="Name" value={project.name} readOnly />
      <TextAreaField label="Description" value={project.description ?? ''} rows={3} readOnly className="font-sans" />
      <TextAreaField label="Settings (JSON)" value={settingsText} rows={settingsRows(settingsText)} readOnly spellCheck={false} />
    </div>
  );
}

type SettingsField = 'name' | 'description' | 'settings';

function ProjectSettingsForm({ project, onRefused }: { project: Project; onRefused: (message: string | null) => void }) {
  const savedSettings = formatSettings(project.settings);
  const [name, setName] = useState(project.name);
  const [description, setDescription] = useState(project.description ?? '');
  const [settingsText, setSettingsText] = useState(savedSettings);
  const [errors, setErrors] = useState<FieldErrors<SettingsField>>({});
  const refreshProjects = useRefreshProjects();

  const save = useMutation({
    mutationFn: (changes: UpdateProjectInput) => api.updateProject(project.id, changes),
    meta: { inlineErrors: true },
    onMutate: () => onRefused(null),
    onSuccess: () => {
      toast.success('Project settings saved');
      void refreshProjects();
    },
    onError: (error) => {
      // Access changed since the page loaded (an editor made a viewer, a demoted admin): the
      // query client refetches the project, and the server's reason stays shown above it.
      if (isApiError(error) && error.status === 403) {
        onRefused(errorMessage(error));
        return;
      }
      setErrors(toFieldErrors(error, { invalid_settings: 'settings' }, ['name', 'description', 'settings'] as const));
    },
  });

  const isDirty = name !== project.name || description !== (project.description ?? '') || settingsText !== savedSettings;

  function validateSettings(text: string): string | undefined {
    const parsed = parseSettings(text);
    return parsed.ok ? undefined : parsed.error;
  }

  function onSettingsChange(text: string) {
    setSettingsText(text);
    // Once an error is shown, re-check on every keystroke so it clears as soon as the JSON is fixed.
    if (errors.settings) setErrors((current) => ({ ...current, settings: validateSettings(text) }));
  }

  function formatJson() {
    const parsed = parseSettings(settingsText);
    if (parsed.ok) {
      setSettingsText(formatSettings(parsed.settings));
      setErrors((current) => ({ ...current, settings: undefined }));
    } else {
      setErrors((current) => ({ ...current, settings: parsed.error }));
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const parsed = parseSettings(settingsText);
    const nextErrors: FieldErrors<SettingsField> = {};
    if (!name.trim()) nextErrors.name = 'Enter a name for the project.';
    if (!parsed.ok) nextErrors.settings = parsed.error;
    setErrors(nextErrors);
    if (!parsed.ok || nextErrors.name) return;
    const changes: UpdateProjectInput = {};
    if (name.trim() !== project.name) changes.name = name.trim();
    if (description !== (project.description ?? '')) changes.description = description.trim();
    if (formatSettings(parsed.settings) !== savedSettings) changes.settings = parsed.settings;
    if (Object.keys(changes).length === 0) {
      setSettingsText(formatSettings(parsed.settings));
      return;
    }
    save.mutate(changes);
  }

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
      <TextField
        label="Name"
        autoComplete="off"
        value={name}
        onChange={(event) => setName(event.target.value)}
        error={errors.name}
      />
      <TextAreaField
        label="Description"
        rows={3}
        value={description}
        onChange={(event) => setDescription(event.target.value)}
        error={errors.description}
        className="font-sans"
      />
      <TextAreaField
        label="Settings (JSON)"
        rows={settingsRows(settingsText)}
        value={settingsText}
        onChange={(event) => onSettingsChange(event.target.value)}
        onBlur={() => setErrors((current) => ({ ...current, settings: validateSettings(settingsText) }))}
        error={errors.settings}
        hint={SETTINGS_HINT}
        spellCheck={false}
        autoCapitalize="off"
        autoCorrect="off"
      />
      <div className="flex flex-wrap justify-end gap-2 pt-1">
        <Button variant="secondary" onClick={formatJson}>
          Format JSON
        </Button>
        <Button type="submit" isLoading={save.isPending} disabled={!isDirty}>
          Save changes
        </Button>
      </div>
    </form>
  );
}

function DeleteProjectCard({ project }: { project: Project }) {
  return (
    <LoseAccessCard
      project={project}
      title="Delete project"
      description="The project, its team and its settings are deleted for everyone."
      confirmTitle={`Delete ${project.name}?`}
      confirmDescription={<p>Everyone loses access to it at once, and its settings are gone. This cannot be undone.</p>}
      successMessage={`Project ${project.name} deleted`}
      run={() => api.deleteProject(project.id)}
    />
  );
}
