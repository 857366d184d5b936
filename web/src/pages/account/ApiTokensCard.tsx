import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import { KeyRound, Plus } from 'lucide-react';
import * as api from '../../api/client';
import { queryKeys, useApiTokens } from '../../api/queries';
import { errorMessage, isApiError } from '../../api/errors';
import type { ApiToken } from '../../api/types';
import { Button } from '../../components/Button';
import { Card, CardHeader, EmptyState, ErrorState, LoadingBlock } from '../../components/Feedback';
import { ConfirmDialog } from '../../components/Dialog';
import { formatDate } from '../../lib/format';
import { CreateApiTokenDialog } from './CreateApiTokenDialog';

/** The user's API tokens: listed by name, created in a dialog that shows the secret once, revoked after a confirmation. */
export function ApiTokensCard() {
  const tokens = useApiTokens();
  const queryClient = useQueryClient();
  const [isCreateOpen, setCreateOpen] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const revoke = useMutation({
    mutationFn: (token: ApiToken) => api.revokeApiToken(token.id),
    meta: { inlineErrors: true },
    onSuccess: (_result, token) => {
      toast.success(`API token ${token.name} revoked`);
      setRevoking(null);
      void queryClient.invalidateQueries({ queryKey: queryKeys.apiTokens });
    },
    onError: (error) => {
      // Revoked meanwhile (another tab, the API): the list catches up, the dialog says why.
      if (isApiError(error, 'token_not_found')) void queryClient.invalidateQueries({ queryKey: queryKeys.apiTokens });
    },
  });

  function openRevoke(token: ApiToken) {
    revoke.reset();
    setRevoking(token);
  }

  return (
    <Card>
      <CardHeader
        title="API tokens"
        description={
          <>
            Scripts and tools use a token to call the Roster API as you, with{' '}
            <code className="font-mono text-[13px]">Authorization: Bearer</code>. Give each one its own, so you can revoke it
            alone.
          </>
        }
        action={
          <Button size="sm" onClick={() => setCreateOpen(true)}>
            <Plus className="size-4" aria-hidden />
            Create token
          </Button>
        }
      />
      {tokens.isPending ? (
        <LoadingBlock label="Loading API tokens…" />
      ) : tokens.isError ? (
        <ErrorState message={errorMessage(tokens.error)} onRetry={() => void tokens.refetch()} />
      ) : tokens.data.tokens.length === 0 ? (
        <EmptyState title="No API tokens yet" icon={<KeyRound className="size-5" />}>
          Create one when a script or tool needs to call the API as you.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">API tokens</caption>
            <thead className="bg-zinc-50 text-xs font-medium tracking-wide text-zinc-500 uppercase">
              <tr>
                <th scope="col" className="px-4 py-2.5 sm:px-5">
                  Name
                </th>
                <th scope="col" className="px-4 py-2.5">
                  Created
                </th>
                <th scope="col" className="w-px px-4 py-2.5">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100">
              {tokens.data.tokens.map((token) => (
                <tr key={token.id}>
                  <td className="w-full max-w-0 px-4 py-3 sm:px-5">
                    <p className="truncate font-medium text-zinc-900">{token.name}</p>
                  </td>
                  <td className="px-4 py-3 whitespace-nowrap text-zinc-600">{formatDate(token.created_at)}</td>
                  <td className="px-4 py-2 text-right">
                    <Button variant="ghost" size="sm" aria-label={`Revoke ${token.name}`} onClick={() => openRevoke(token)}>
                      Revoke
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateApiTokenDialog open={isCreateOpen} onOpenChange={setCreateOpen} />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => (open ? undefined : setRevoking(null))}
        title={revoking ? `Revoke the API token ${revoking.name}?` : ''}
        description={
          <p>
            Anything that uses it is refused from the very next request. This cannot be undone: create a new token if you need one
            again.
          </p>
        }
        confirmLabel="Revoke token"
        isPending={revoke.isPending}
        error={revoke.isError ? errorMessage(revoke.error) : null}
        onConfirm={() => revoking && revoke.mutate(revoking)}
      />
    </Card>
  );
}
