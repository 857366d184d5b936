import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../core/error-codes.ts';

export { ERROR_STATUS, type ErrorCode } from '../core/error-codes.ts';

export function statusForCode<C extends ErrorCode>(code: C): (typeof ERROR_STATUS)[C] {
  return ERROR_STATUS[code];
}

export const errorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .describe('Error');

/** Declares the error replies a route may give, for the OpenAPI and for reply validation. */
export function errorReplies<const S extends readonly number[]>(...statuses: S) {
  return Object.fromEntries(statuses.map((status) => [status, errorBody])) as { [K in S[number]]: typeof errorBody };
}
