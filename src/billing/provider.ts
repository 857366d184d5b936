// The seam's interface is declared in core (the context carries the provider); billing code keeps
// importing it from here.
export type {
  BillingProvider,
  BillingScope,
  CheckoutRequest,
  CheckoutSession,
  ProviderEvent,
  ProviderSubscription,
} from '../core/billing-provider.ts';
