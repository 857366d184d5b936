import { useDeferredValue, useId, useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { toast } from 'sonner';
import { Search } from 'lucide-react';
import * as api from '../../api/client';
import { useMemberSearch, useRefreshProjects } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { Member } from '../../api/types';
import type { Project, ProjectMember } from '../../api/projects';
import { Button } from '../../components/Button';
import { Alert, Spinner } from '../../components/Feedback';
import { Dialog } from '../../components/Dialog';
import { Switch } from '../../components/Switch';
import { periodAfter } from '../../lib/format';
import { describeMember } from './access';

interface AddProjectMemberDialogProps {
  project: Project;
  members: ProjectMember[];
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

/** Finds org members by name or email prefix (GET /org/members?q=) and adds one, as a viewer unless "Editor" is on. */
export function AddProjectMemberDialog({ project, members, open, onOpenChange }: AddProjectMemberDialogProps) {
  const [search, setSearch] = useState('');
  const [isEditor, setEditor] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const deferredSearch = useDeferredValue(search.trim());
  const candidates = useMemberSearch(deferredSearch, open);
  const refreshProjects = useRefreshProjects();
  const searchId = useId();
  const editorId = useId();
  const inProject = new Set(members.map((member) => member.user_id));
  const results = (candidates.data?.members ?? []).filter((member) => !inProject.has(member.user_id));

  const add = useMutation({
    mutationFn: ({ member, editor }: { member: Member; editor: boolean }) =>
      api.setProjectMember(project.id, member.user_id, editor),
    meta: { inlineErrors: true },
    onMutate: () => setError(null),
    onSuccess: async (_result, { member, editor }) => {
      toast.success(`${describeMember(member)} added to ${project.name} as ${editor ? 'an editor' : 'a viewer'}`);
      close(false);
      await refreshProjects();
    },
    onError: (reason) => setError(errorMessage(reason)),
  });

  function close(next: boolean) {
    onOpenChange(next);
    if (!next) {
      setSearch('');
      setEditor(false);
      setError(null);
    }
  }

  return (
    <Dialog
      open={open}
      onOpenChange={close}
      title="Add member"
      description={`Add someone from your organization to ${project.name}${periodAfter(project.name)}`}
    >
      <div className="space-y-4">
        {error ? <Alert tone="error">{error}</Alert> : null}
        <div className="space-y-1.5">
          <label htmlFor={searchId} className="block text-sm font-medium text-zinc-800">
            Search organization members
          </label>
          <div className="relative">
            <Search className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-zinc-400" aria-hidden />
            <input
              id={searchId}
              type="search"
              autoComplete="off"
              autoFocus
              value={search}
              onChange={(event) => setSearch(event.target.value)}
              placeholder="Name or email"
              className="h-10 w-full rounded-lg border-0 bg-white pr-3 pl-9 text-sm ring-1 ring-zinc-300 ring-inset placeholder:text-zinc-400 focus:ring-2 focus:ring-brand-600 focus:outline-none"
            />
          </div>
        </div>
        <div className="flex items-start justify-between gap-4 rounded-lg bg-zinc-50 px-3 py-2.5 ring-1 ring-zinc-200">
          <div className="min-w-0">
            <label htmlFor={editorId} className="block text-sm font-medium text-zinc-800">
              Editor
            </label>
            <p id={`${editorId}-hint`} className="text-xs text-zinc-500">
              {isEditor ? 'Can change the project and its team.' : 'Off: added as a viewer, who can only read the project.'}
            </p>
          </div>
          <Switch id={editorId} checked={isEditor} onCheckedChange={setEditor} aria-describedby={`${editorId}-hint`} />
        </div>
        <section aria-label="Matching members">
          {candidates.isPending ? (
            <div className="flex items-center gap-2 py-3 text-sm text-zinc-500">
              <Spinner className="size-4" label="" />
              Searching…
            </div>
          ) : candidates.isError ? (
            <Alert tone="error">{errorMessage(candidates.error)}</Alert>
          ) : results.length === 0 ? (
            <p className="py-3 text-sm text-zinc-500">
              {deferredSearch
                ? 'No one else in your organization matches that name or email.'
                : 'Search by name or email to find someone to add.'}
            </p>
          ) : (
            <ul className="divide-y divide-zinc-100 rounded-lg ring-1 ring-zinc-200">
              {results.map((member) => (
                <li key={member.user_id} className="flex items-center gap-3 px-3 py-2">
                  <div className="min-w-0 flex-1">
                    <p className="truncate text-sm font-medium text-zinc-900">{member.display_name || member.email}</p>
                    {member.display_name ? <p className="truncate text-xs text-zinc-500">{member.email}</p> : null}
                  </div>
                  <Button
                    size="sm"
                    variant="secondary"
                    aria-label={`Add ${member.email}`}
                    isLoading={add.isPending && add.variables?.member.user_id === member.user_id}
                    disabled={add.isPending}
                    onClick={() => add.mutate({ member, editor: isEditor })}
                  >
                    Add
                  </Button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </Dialog>
  );
}
