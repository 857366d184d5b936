import { ApiError } from '../../api/errors';
import type { BulkResult } from '../../api/types';
import { formatNumber, plural } from '../../lib/format';

export interface BulkSummary {
  distinct: number;
  accepted: string[];
  invalid: Array<{ email: string; message: string }>;
  refused: Array<{ email: string; code: string; message: string }>;
}

/** Groups the server's per-address results for display; the server decides every outcome. */
export function summarizeBulkResults(results: BulkResult[]): BulkSummary {
  const summary: BulkSummary = { distinct: results.length, accepted: [], invalid: [], refused: [] };
  for (const result of results) {
    if (result.ok) summary.accepted.push(result.email);
    else if (result.error.code === 'invalid_email') {
      summary.invalid.push({ email: result.email, message: result.error.message });
    } else {
      summary.refused.push({ email: result.email, code: result.error.code, message: result.error.message });
    }
  }
  return summary;
}

/**
 * How much of the batch fits in the free seats, when some addresses were refused for want of one
 * (null otherwise). The server hands out the free seats in input order until none is left, so the
 * seats free now are exactly the addresses it accepted.
 */
export function seatShortfallMessage(summary: BulkSummary): string | null {
  const needSeats = summary.refused.filter((refusal) => refusal.code === 'seat_limit').length;
  if (needSeats === 0) return null;
  const free = summary.accepted.length;
  const shortfall = needSeats === 1 ? 'needs another seat' : 'need more seats';
  if (free === 0) return `No seat is free: ${plural(needSeats, 'address', 'addresses')} ${shortfall}.`;
  return `${plural(free, 'seat is', 'seats are')} free: ${plural(free, 'address', 'addresses')} can be invited, ${formatNumber(
    needSeats,
  )} ${shortfall}.`;
}

function numberFrom(details: Record<string, unknown> | undefined, keys: string[]): number | null {
  for (const key of keys) {
    const value = details?.[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return null;
}

/** The over-the-limit sentence, from `bulk_limit_exceeded` details when the server gives them. */
export function bulkLimitMessage(error: ApiError): string {
  const limit = numberFrom(error.details, ['limit', 'max', 'maximum', 'bulk_invite_max']);
  const count = numberFrom(error.details, ['count', 'distinct', 'found', 'received', 'requested', 'addresses']);
  if (limit !== null && count !== null) {
    return `You entered ${count} distinct addresses, but one bulk invitation allows at most ${limit}. Remove ${
      count - limit
    } and try again — nothing has been sent.`;
  }
  if (limit !== null) {
    return `One bulk invitation allows at most ${limit} distinct addresses. Split the list and try again — nothing has been sent.`;
  }
  return error.message || 'Too many addresses for one bulk invitation. Split the list and try again.';
}

export function bulkToastMessage(invited: number, failed: number): string {
  return `${invited} ${invited === 1 ? 'invitation' : 'invitations'} sent, ${failed} failed`;
}
