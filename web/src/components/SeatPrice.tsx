import { usePlans } from '../api/queries';
import { formatNumber, formatPrice, plural } from '../lib/format';

/** The most seats the server accepts in a checkout or seat change (its MAX_SEATS). */
export const MAX_SEATS = 100_000;

/** What a seat-count field asks for when its value is not a seat count. */
export const SEATS_RANGE_HINT = `Enter a whole number of seats from 1 to ${formatNumber(MAX_SEATS)}.`;

/** A seat-count field's value as a whole number from 1 to MAX_SEATS (digits only: not "2.5", "1e3" or ""), or null. */
export function parseSeatCount(value: string): number | null {
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const seats = Number(trimmed);
  return seats >= 1 && seats <= MAX_SEATS ? seats : null;
}

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
