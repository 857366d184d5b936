import { usePlans } from '../api/queries';
import { formatPrice, plural } from '../lib/format';

/** The Team plan's list price, used only when GET /billing/plans has not answered. */
export const TEAM_PRICE_FALLBACK = { cents: 1499, currency: 'usd' } as const;

/** The Team plan's price per seat and month, from GET /api/v1/billing/plans. */
export function useTeamSeatPrice(): { cents: number; currency: string } {
  const plans = usePlans();
  const team = plans.data?.plans.find((plan) => plan.id === 'team');
  if (team?.price_cents_per_seat === null || team?.price_cents_per_seat === undefined) return TEAM_PRICE_FALLBACK;
  return { cents: team.price_cents_per_seat, currency: team.currency };
}

/** "12 seats × $14.99 = $179.88 per month" */
export function monthlyPriceText(seats: number, price: { cents: number; currency: string }): string {
  return `${plural(seats, 'seat')} × ${formatPrice(price.cents, price.currency)} = ${formatPrice(
    price.cents * seats,
    price.currency,
  )} per month`;
}
