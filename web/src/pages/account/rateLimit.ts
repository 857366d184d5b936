import { errorMessage, isApiError } from '../../api/errors';

/** "You can try again in about 12 minutes." from a 429's Retry-After, or null when the server gave none. */
export function retryAfterText(seconds: number | undefined): string | null {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return null;
  if (seconds < 60) return 'You can try again in less than a minute.';
  const minutes = Math.ceil(seconds / 60);
  return `You can try again in about ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`;
}

/** The server's sentence for an error; for 429 rate_limited, followed by how long to wait. */
export function messageWithWait(error: unknown): string {
  const message = errorMessage(error);
  if (!isApiError(error, 'rate_limited')) return message;
  const wait = retryAfterText(error.retryAfterSeconds);
  return wait ? `${message} ${wait}` : message;
}
