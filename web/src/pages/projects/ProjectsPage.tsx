import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { ChevronRight, FolderKanban, FolderPlus } from 'lucide-react';
import { useProjects } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { Project } from '../../api/projects';
import { Button } from '../../components/Button';
import { Badge, Card, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { useOrgPermissions } from '../../components/permissions';
import { accessLabel } from './access';
import { useCurrentRoleLabel } from '../../components/permissions';
import { NewProjectDialog } from './NewProjectDialog';

export function ProjectsPage() {
  const projects = useProjects();
  const canCreate = useOrgPermissions()('create_project');
  const [isNewOpen, setNewOpen] = useState(false);
  const allProjects = useMemo(() => projects.data?.pages.flatMap((page) => page.projects) ?? [], [projects.data]);

  return (
    <div>
      <PageHeader
        title="Projects"
        description="The projects of your organization that you can open."
        actions={
          canCreate ? (
            <Button onClick={() => setNewOpen(true)}>
              <FolderPlus className="size-4" aria-hidden />
              New project
            </Button>
          ) : undefined
        }
      />
      <Card>
        {projects.isPending ? (
          <LoadingBlock label="Loading projects…" />
        ) : projects.isError ? (
          <ErrorState message={errorMessage(projects.error)} onRetry={() => void projects.refetch()} />
        ) : allProjects.length === 0 ? (
          <EmptyState title="No projects yet" icon={<FolderKanban className="size-5" />}>
            {canCreate
              ? 'Create a project to share its settings with the people who work on it.'
              : 'When someone adds you to a project, it appears here.'}
          </EmptyState>
        ) : (
          <ul className="divide-y divide-zinc-100" aria-label="Projects">
            {allProjects.map((project) => (
              <ProjectRow key={project.id} project={project} />
            ))}
          </ul>
        )}
        {projects.hasNextPage ? (
          <div className="border-t border-zinc-100 px-5 py-3 text-center">
            <Button
              variant="secondary"
              size="sm"
              onClick={() => void projects.fetchNextPage()}
              isLoading={projects.isFetchingNextPage}
            >
              Load more
            </Button>
          </div>
        ) : null}
      </Card>
      {canCreate ? <NewProjectDialog open={isNewOpen} onOpenChange={setNewOpen} /> : null}
    </div>
  );
}

function ProjectRow({ project }: { project: Project }) {
  const orgRole = useCurrentRoleLabel();
  return (
    <li>
      <Link
        to={`/projects/${encodeURIComponent(project.id)}`}
        className="flex items-center gap-3 px-4 py-3 hover:bg-zinc-50/60 sm:px-5"
      >
        <div className="min-w-0 flex-1">
          <p className="truncate text-sm font-medium text-zinc-900">{project.name}</p>
          {project.description ? <p className="truncate text-sm text-zinc-500">{project.description}</p> : null}
        </div>
        <Badge tone={project.my_access === 'viewer' ? 'neutral' : 'brand'}>{accessLabel(project.my_access, orgRole)}</Badge>
        <ChevronRight className="size-4 shrink-0 text-zinc-400" aria-hidden />
      </Link>
    </li>
  );
}
