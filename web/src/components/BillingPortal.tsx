import { useMutation } from '@tanstack/react-query';
import * as api from '../api/client';
import { errorMessage } from '../api/errors';
import { isLocalBillingPortal } from '../lib/navigation';

/**
 * Opens the payment provider's portal for a subscription (the org's, or the user's own): the
 * browser leaves for it. With the local billing provider there is none to go to (`hasNoPortal`),
 * and the card says so instead of sending the person to the dashboard's billing page.
 */
export function useBillingPortal(scope: 'personal' | 'org') {
  const portal = useMutation({
    mutationFn: () => api.openBillingPortal(scope),
    meta: { inlineErrors: true },
    onSuccess: ({ url }) => {
      if (!isLocalBillingPortal(url)) window.location.assign(url);
    },
  });
  return {
    open: () => portal.mutate(),
    isPending: portal.isPending,
    error: portal.isError ? errorMessage(portal.error) : null,
    hasNoPortal: portal.isSuccess && isLocalBillingPortal(portal.data.url),
  };
}
