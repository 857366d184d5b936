import { Link, useParams, useSearchParams } from 'react-router';
import * as Tabs from '@radix-ui/react-tabs';
import { ArrowLeft, FolderX } from 'lucide-react';
import { useProject } from '../../api/queries';
import { ApiError, errorMessage } from '../../api/errors';
import { Badge, Card, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { cn } from '../../lib/cn';
import { accessLabel } from './access';
import { useCurrentRoleLabel } from '../../components/permissions';
import { ProjectSettingsTab } from './ProjectSettingsTab';
import { ProjectTeamTab } from './ProjectTeamTab';

type Tab = 'settings' | 'team';

const tabClass = cn(
  '-mb-px border-b-2 border-transparent px-1 pb-2.5 text-sm font-medium text-zinc-500 hover:text-zinc-800',
  'data-[state=active]:border-brand-600 data-[state=active]:text-brand-700',
);

export function ProjectPage() {
  const { id = '' } = useParams();
  const project = useProject(id);
  const orgRole = useCurrentRoleLabel();
  const [searchParams, setSearchParams] = useSearchParams();
  const tab: Tab = searchParams.get('tab') === 'team' ? 'team' : 'settings';

  if (project.isPending) return <LoadingBlock label="Loading project…" />;
  if (project.isError) {
    // 404 also answers for projects of another org or that the caller is not in: never reveal which.
    if (project.error instanceof ApiError && project.error.status === 404) return <ProjectNotFound />;
    return <ErrorState message={errorMessage(project.error)} onRetry={() => void project.refetch()} />;
  }
  const { project: details, members } = project.data;

  return (
    <div>
      <BackToProjects />
      <PageHeader
        title={details.name}
        description={details.description || undefined}
        actions={
          <Badge tone={details.my_access === 'viewer' ? 'neutral' : 'brand'}>{accessLabel(details.my_access, orgRole)}</Badge>
        }
      />
      <Tabs.Root value={tab} onValueChange={(next) => setSearchParams(next === 'team' ? { tab: 'team' } : {}, { replace: true })}>
        <Tabs.List aria-label="Project sections" className="mb-6 flex gap-6 border-b border-zinc-200">
          <Tabs.Trigger value="settings" className={tabClass}>
            Settings
          </Tabs.Trigger>
          <Tabs.Trigger value="team" className={tabClass}>
            Team
          </Tabs.Trigger>
        </Tabs.List>
        <Tabs.Content value="settings">
          <ProjectSettingsTab project={details} />
        </Tabs.Content>
        <Tabs.Content value="team">
          <ProjectTeamTab project={details} members={members} />
        </Tabs.Content>
      </Tabs.Root>
    </div>
  );
}

function BackToProjects() {
  return (
    <Link to="/projects" className="mb-4 inline-flex items-center gap-1.5 text-sm font-medium text-zinc-600 hover:text-zinc-900">
      <ArrowLeft className="size-4" aria-hidden />
      Projects
    </Link>
  );
}

function ProjectNotFound() {
  return (
    <div>
      <BackToProjects />
      <PageHeader title="Project not found" />
      <Card>
        <EmptyState title="There is no project here" icon={<FolderX className="size-5" />}>
          This project does not exist, was deleted, or you are not one of its members. Ask one of its editors to add you.
        </EmptyState>
      </Card>
    </div>
  );
}
