import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { toast } from 'sonner';
import { UserPlus, Users } from 'lucide-react';
import * as api from '../../api/client';
import { queryKeys, useMe, useRefreshProjects } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { Project, ProjectMember } from '../../api/projects';
import { Button } from '../../components/Button';
import { Badge, Card, CardHeader, EmptyState } from '../../components/Feedback';
import { ConfirmDialog } from '../../components/Dialog';
import { Switch } from '../../components/Switch';
import { formatDate } from '../../lib/format';
import { AddProjectMemberDialog } from './AddProjectMemberDialog';
import { describeMember } from './access';
import { LoseAccessCard } from './LoseAccessCard';

export function ProjectTeamTab({ project, members }: { project: Project; members: ProjectMember[] }) {
  const canManage = project.permissions.includes('manage_project_members');
  const canLeave = project.permissions.includes('leave_project');
  const myUserId = useMe().data?.user.id;
  const [isAddOpen, setAddOpen] = useState(false);
  const [removing, setRemoving] = useState<ProjectMember | null>(null);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const refreshProjects = useRefreshProjects();
  const queryClient = useQueryClient();
  const navigate = useNavigate();

  const setEditor = useMutation({
    mutationFn: ({ member, editor }: { member: ProjectMember; editor: boolean }) =>
      api.setProjectMember(project.id, member.user_id, editor),
    onSuccess: async (_result, { member, editor }) => {
      toast.success(`${describeMember(member)} is now ${editor ? 'an editor' : 'a viewer'}`);
      await refreshProjects();
    },
  });
  const remove = useMutation({
    mutationFn: (member: ProjectMember) => api.removeProjectMember(project.id, member.user_id),
    meta: { inlineErrors: true },
    onMutate: () => setRemoveError(null),
    onSuccess: async (_result, member) => {
      const isSelf = member.user_id === myUserId;
      toast.success(isSelf ? `You left ${project.name}` : `${describeMember(member)} was removed from ${project.name}`);
      setRemoving(null);
      // Leaving the team ends access unless you are an org owner or admin (who see every project):
      // go to the list, as "Leave project" does, instead of refetching a project that answers 404.
      if (isSelf && project.my_access !== 'admin') {
        void navigate('/projects', { replace: true });
        queryClient.removeQueries({ queryKey: queryKeys.project(project.id) });
        void refreshProjects();
        return;
      }
      await refreshProjects();
    },
    onError: (error) => setRemoveError(errorMessage(error)),
  });

  // "A project always keeps at least one editor unless an owner/admin manages it": the server
  // refuses demoting or removing its only editor (409 last_editor) except for org owners and admins,
  // whom it reports as `admin` access.
  const editorCount = members.filter((member) => member.editor).length;
  const mayLeaveNoEditor = project.my_access === 'admin';
  function isProtectedLastEditor(member: ProjectMember): boolean {
    return member.editor && editorCount === 1 && !mayLeaveNoEditor;
  }

  function editorShown(member: ProjectMember): boolean {
    // While a change is on its way, show where the switch is going.
    if (setEditor.isPending && setEditor.variables?.member.user_id === member.user_id) return setEditor.variables.editor;
    return member.editor;
  }

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title="Team"
          description="Editors change the project and its team; viewers can only read it."
          action={
            canManage ? (
              <Button size="sm" onClick={() => setAddOpen(true)}>
                <UserPlus className="size-4" aria-hidden />
                Add member
              </Button>
            ) : undefined
          }
        />
        {members.length === 0 ? (
          <EmptyState title="No members yet" icon={<Users className="size-5" />}>
            {canManage ? 'Add the people who work on this project.' : 'Nobody has been added to this project yet.'}
          </EmptyState>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <caption className="sr-only">Project members</caption>
              <thead className="bg-zinc-50 text-xs font-medium tracking-wide text-zinc-500 uppercase">
                <tr>
                  <th scope="col" className="px-4 py-2.5 sm:px-5">
                    Member
                  </th>
                  <th scope="col" className="hidden px-4 py-2.5 md:table-cell">
                    Added
                  </th>
                  <th scope="col" className="w-px px-4 py-2.5">
                    {canManage ? 'Editor' : 'Access'}
                  </th>
                  {canManage ? (
                    <th scope="col" className="w-px px-4 py-2.5">
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100">
                {members.map((member) => {
                  const isLastEditor = isProtectedLastEditor(member);
                  const lastEditorHintId = `last-editor-${member.user_id}`;
                  return (
                    <tr key={member.user_id} data-row-email={member.email}>
                      <td className="w-full max-w-0 px-4 py-3 sm:px-5">
                        <p className="truncate font-medium text-zinc-900">
                          {member.display_name || member.email}
                          {member.user_id === myUserId ? (
                            <span className="ml-1.5 text-xs font-normal text-zinc-500">(you)</span>
                          ) : null}
                        </p>
                        {member.display_name ? <p className="truncate text-xs text-zinc-500">{member.email}</p> : null}
                        {canManage && isLastEditor ? (
                          <p id={lastEditorHintId} className="mt-0.5 text-xs text-zinc-500">
                            {member.user_id === myUserId ? 'You are' : 'This is'} the only editor: make someone else an editor
                            first, or ask an organization admin.
                          </p>
                        ) : null}
                      </td>
                      <td className="hidden px-4 py-3 whitespace-nowrap text-zinc-600 md:table-cell">
                        {formatDate(member.added_at)}
                      </td>
                      <td className="px-4 py-3">
                        {canManage ? (
                          <Switch
                            checked={editorShown(member)}
                            onCheckedChange={(editor) => setEditor.mutate({ member, editor })}
                            disabled={
                              isLastEditor || (setEditor.isPending && setEditor.variables?.member.user_id === member.user_id)
                            }
                            title={isLastEditor ? LAST_EDITOR_REASON : undefined}
                            aria-describedby={isLastEditor ? lastEditorHintId : undefined}
                            aria-label={`Editor: ${member.email}`}
                          />
                        ) : (
                          <Badge tone={member.editor ? 'brand' : 'neutral'}>{member.editor ? 'Editor' : 'Viewer'}</Badge>
                        )}
                      </td>
                      {canManage ? (
                        <td className="px-4 py-2 text-right">
                          <Button
                            variant="ghost"
                            size="sm"
                            aria-label={`Remove ${member.email}`}
                            disabled={isLastEditor}
                            title={isLastEditor ? LAST_EDITOR_REASON : undefined}
                            aria-describedby={isLastEditor ? lastEditorHintId : undefined}
                            onClick={() => {
                              setRemoveError(null);
                              setRemoving(member);
                            }}
                          >
                            Remove
                          </Button>
                        </td>
                      ) : null}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {canLeave && myUserId ? <LeaveProjectCard project={project} myUserId={myUserId} /> : null}
      {canManage ? (
        <>
          <AddProjectMemberDialog project={project} members={members} open={isAddOpen} onOpenChange={setAddOpen} />
          <ConfirmDialog
            open={removing !== null}
            onOpenChange={(open) => (open ? undefined : setRemoving(null))}
            title={
              removing
                ? removing.user_id === myUserId
                  ? `Remove yourself from ${project.name}?`
                  : `Remove ${describeMember(removing)} from ${project.name}?`
                : ''
            }
            description={
              removing?.user_id === myUserId ? (
                <p>You lose access to this project at once. An editor can add you again later.</p>
              ) : (
                <p>They lose access to this project at once. You can add them again later.</p>
              )
            }
            confirmLabel="Remove"
            isPending={remove.isPending}
            error={removeError}
            onConfirm={() => removing && remove.mutate(removing)}
          />
        </>
      ) : null}
    </div>
  );
}

const LAST_EDITOR_REASON =
  'A project keeps at least one editor: make someone else an editor first. Organization owners and admins can change this.';

function LeaveProjectCard({ project, myUserId }: { project: Project; myUserId: string }) {
  return (
    <LoseAccessCard
      project={project}
      title="Leave project"
      description="You lose access to this project. An editor can add you again."
      confirmTitle={`Leave ${project.name}?`}
      confirmDescription={<p>You lose access to it right away.</p>}
      successMessage={`You left ${project.name}`}
      run={() => api.removeProjectMember(project.id, myUserId)}
    />
  );
}
