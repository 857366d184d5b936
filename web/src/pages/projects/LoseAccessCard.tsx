import { useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import { queryKeys, useRefreshProjects } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { Project } from '../../api/projects';
import { Button } from '../../components/Button';
import { Card, CardHeader } from '../../components/Feedback';
import { ConfirmDialog } from '../../components/Dialog';

/**
 * A danger card whose confirmed action ends the caller's access to the project (deleting it,
 * leaving it): on success the page goes back to the list and drops its copy of the project
 * rather than refetching what would only answer 404.
 */
export function LoseAccessCard(props: {
  project: Project;
  title: string;
  description: string;
  confirmTitle: string;
  confirmDescription: ReactNode;
  successMessage: string;
  run: () => Promise<unknown>;
}) {
  const { project } = props;
  const [isConfirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const refreshProjects = useRefreshProjects();
  const navigate = useNavigate();
  const action = useMutation({
    mutationFn: props.run,
    meta: { inlineErrors: true },
    onMutate: () => setError(null),
    onSuccess: () => {
      toast.success(props.successMessage);
      setConfirming(false);
      void navigate('/projects', { replace: true });
      queryClient.removeQueries({ queryKey: queryKeys.project(project.id) });
      void refreshProjects();
    },
    onError: (reason) => setError(errorMessage(reason)),
  });
  return (
    <Card className="ring-red-200">
      <CardHeader
        title={props.title}
        description={props.description}
        action={
          <Button
            variant="danger"
            size="sm"
            onClick={() => {
              setError(null);
              setConfirming(true);
            }}
          >
            {props.title}
          </Button>
        }
      />
      <ConfirmDialog
        open={isConfirming}
        onOpenChange={setConfirming}
        title={props.confirmTitle}
        description={props.confirmDescription}
        confirmLabel={props.title}
        isPending={action.isPending}
        error={error}
        onConfirm={() => action.mutate()}
      />
    </Card>
  );
}
