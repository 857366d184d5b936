import type { Plan } from '../db/schema.ts';

export const GIB = 1024 ** 3;

export interface PlanInfo {
  id: Plan;
  name: string;
  /** Integer cents; null for "contact sales". */
  priceCentsPerSeat: number | null;
  currency: 'usd';
  defaultSeats: number;
  /** Null means unlimited. */
  storageBytesPerSeat: number | null;
  selfServe: boolean;
}

export const PLANS: Record<Plan, PlanInfo> = {
  team: {
    id: 'team',
    name: 'Team',
    priceCentsPerSeat: 1499,
    currency: 'usd',
    defaultSeats: 5,
    storageBytesPerSeat: GIB,
    selfServe: true,
  },
  enterprise: {
    id: 'enterprise',
    name: 'Enterprise',
    priceCentsPerSeat: null,
    currency: 'usd',
    defaultSeats: 25,
    storageBytesPerSeat: null,
    selfServe: false,
  },
};

export const MAX_SEATS = 100_000;

/** Team: 1 GiB per seat; Enterprise: unlimited (null). */
export function storageLimitBytes(plan: Plan, seats: number): number | null {
  const perSeat = PLANS[plan].storageBytesPerSeat;
  return perSeat === null ? null : perSeat * seats;
}
