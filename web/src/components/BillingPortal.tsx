import { useMutation } from '@tanstack/react-query';
import * as api from '../api/client';
import { errorMessage } from '../api/errors';
import { isLocalBillingPortal } from '../lib/navigation';
import { Button } from './Button';
import { Alert } from './Feedback';

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

type BillingPortal = ReturnType<typeof useBillingPortal>;

/** "Manage billing" for a card's header, when the portal has something to show. */
export function ManageBillingButton({ portal, isAvailable }: { portal: BillingPortal; isAvailable: boolean }) {
  if (!isAvailable) return null;
  return (
    <Button variant="secondary" size="sm" onClick={portal.open} isLoading={portal.isPending}>
      Manage billing
    </Button>
  );
}

/**
 * What opening the portal answered when it did not leave the page: an error, or no portal here
 * (`noPortalTitle`: the notice's title, by default "No payment portal on this server").
 */
export function PortalNotices({
  portal,
  noPortalText,
  noPortalTitle = 'No payment portal on this server',
}: {
  portal: BillingPortal;
  noPortalText: string;
  noPortalTitle?: string;
}) {
  return (
    <>
      {portal.error ? <Alert tone="error">{portal.error}</Alert> : null}
      {portal.hasNoPortal ? <Alert title={noPortalTitle}>{noPortalText}</Alert> : null}
    </>
  );
}
