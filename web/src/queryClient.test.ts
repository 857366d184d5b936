import { MutationObserver, QueryObserver, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiError } from './api/errors';
import { queryKeys } from './api/queries';
import { createQueryClient } from './queryClient';

/** Keeps a query active (as a mounted screen does) and counts how often it is fetched. */
function watch(queryClient: QueryClient, queryKey: QueryKey) {
  const counter = { fetches: 0 };
  const observer = new QueryObserver(queryClient, {
    queryKey,
    queryFn: async () => {
      counter.fetches += 1;
      return { fetched: counter.fetches };
    },
  });
  observer.subscribe(() => undefined);
  return counter;
}

async function failWrite(queryClient: QueryClient, status: number, code: string) {
  const mutation = new MutationObserver(queryClient, {
    mutationFn: () => Promise.reject(new ApiError({ status, code, message: 'Refused.' })),
    meta: { inlineErrors: true },
  });
  await mutation.mutate().catch(() => undefined);
}

describe('createQueryClient', () => {
  it('regression: after a 403 on a write it refetches the member lists (each row carries its permissions), not only /me and /org', async () => {
    const queryClient = createQueryClient({ retry: false });
    const me = watch(queryClient, queryKeys.me);
    const org = watch(queryClient, queryKeys.org);
    const members = watch(queryClient, queryKeys.members(''));
    const searched = watch(queryClient, queryKeys.members('an'));
    await waitFor(() => expect([me, org, members, searched].map((counter) => counter.fetches)).toEqual([1, 1, 1, 1]));

    await failWrite(queryClient, 403, 'forbidden');

    await waitFor(() => expect([me, org, members, searched].map((counter) => counter.fetches)).toEqual([2, 2, 2, 2]));
  });

  it('refetches nothing for a 403 that says nothing about rights (a wrong current password)', async () => {
    const queryClient = createQueryClient({ retry: false });
    const members = watch(queryClient, queryKeys.members(''));
    await waitFor(() => expect(members.fetches).toBe(1));

    await failWrite(queryClient, 403, 'wrong_password');
    await failWrite(queryClient, 409, 'last_admin');

    expect(members.fetches).toBe(1);
    expect(queryClient.getQueryState(queryKeys.members(''))?.isInvalidated).toBe(false);
  });
});
