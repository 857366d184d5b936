import { RosterApiError as ApiError } from '@roster/client';

/**
 * An error answered by the API (`{"error":{code,message,details}}`, with the request id and
 * Retry-After) or a failure to reach it (status 0, `network_error`): the shared client's error.
 */
export { ApiError };

export const USAGE_LIMIT_MESSAGE = 'You have reached your usage limit. Contact your organization administrator to raise it.';

/** The sentence to show a person for any error thrown by the client. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'usage_limit_exceeded') return error.message || USAGE_LIMIT_MESSAGE;
    if (error.code === 'network_error') return error.message;
    if (error.status >= 500) {
      const reference = error.requestId ? ` (reference ${error.requestId})` : '';
      return `Something went wrong on our side. Please try again in a moment${reference}.`;
    }
    if (error.status === 401 && !error.message) return 'Your session has ended. Please log in again.';
    return error.message || 'That did not work. Please try again.';
  }
  return 'Something unexpected happened. Please reload the page and try again.';
}

export function isApiError(error: unknown, code?: string): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}
