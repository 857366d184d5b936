import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import { ApiError, errorMessage } from './api/errors';
import { queryKeys } from './api/queries';

/** A 401 answered to a signed-in app: the session was revoked, expired or its user disabled. */
function isSessionLost(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

/** 403 codes that say nothing about the caller's rights (a wrong current password): no permission refetch. */
const NOT_ABOUT_RIGHTS = new Set(['wrong_password']);

export function createQueryClient(options: { retry?: boolean } = {}): QueryClient {
  // GET /me answering "nobody" makes RequireAuth send the user to the login page (with `next`),
  // instead of each screen showing "This could not be loaded".
  const endSession = () => queryClient.setQueryData(queryKeys.me, null);
  // A 403 on a write means the caller's rights changed since the page loaded (demoted admin,
  // editor made a viewer): refetch what carries the server's `permissions` lists so the
  // controls follow them again — the org's and the projects', and each member's in the member
  // lists (every search and page: the Members table's row menus). Invitations carry none.
  const refreshPermissions = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.me }),
      queryClient.invalidateQueries({ queryKey: queryKeys.org }),
      queryClient.invalidateQueries({ queryKey: queryKeys.allMembers }),
      queryClient.invalidateQueries({ queryKey: queryKeys.allProjects }),
    ]);
  const queryClient: QueryClient = new QueryClient({
    defaultOptions: {
      queries: {
        retry:
          options.retry === false
            ? false
            : (failureCount, error) => failureCount < 2 && !(error instanceof ApiError && error.status > 0 && error.status < 500),
        refetchOnWindowFocus: false,
      },
      mutations: options.retry === false ? { retry: false } : {},
    },
    queryCache: new QueryCache({
      onError: (error) => {
        if (isSessionLost(error)) endSession();
      },
    }),
    mutationCache: new MutationCache({
      // Mutations that show their errors in place set meta.inlineErrors; the rest get a toast.
      onError: (error, _variables, _context, mutation) => {
        if (isSessionLost(error)) {
          endSession();
          return;
        }
        if (error instanceof ApiError && error.status === 403 && !NOT_ABOUT_RIGHTS.has(error.code)) void refreshPermissions();
        if (mutation.meta?.inlineErrors) return;
        toast.error(errorMessage(error));
      },
    }),
  });
  return queryClient;
}

declare module '@tanstack/react-query' {
  interface Register {
    mutationMeta: { inlineErrors?: boolean };
  }
}
