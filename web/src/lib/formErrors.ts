import { ApiError, errorMessage } from '../api/errors';

export type FieldErrors<F extends string> = Partial<Record<F | 'form', string>>;

/**
 * Places an API error next to the field it concerns: by error code first, then by the
 * `details.field` (or `details.fields`) the server may add to a validation error.
 */
export function toFieldErrors<F extends string>(
  error: unknown,
  fieldByCode: Partial<Record<string, F>>,
  knownFields: readonly F[],
): FieldErrors<F> {
  const message = errorMessage(error);
  if (error instanceof ApiError) {
    const byCode = fieldByCode[error.code];
    if (byCode) return { [byCode]: message } as FieldErrors<F>;
    const detailField = error.details?.field;
    if (typeof detailField === 'string' && (knownFields as readonly string[]).includes(detailField)) {
      return { [detailField]: message } as FieldErrors<F>;
    }
  }
  return { form: message } as FieldErrors<F>;
}
