import { AppError } from './errors.ts';

/**
 * An opaque page cursor over an id that only grows (audit entries, webhook deliveries): the id with
 * its list's name, base64url. A cursor the server did not hand out, or one of another list, is
 * refused with `invalid_cursor` instead of being read as an id (regression: the delivery log took
 * any number).
 */
/** An id of such a list as written: digits, no leading zero, small enough for a bigint. */
export function isEntryId(value: string): boolean {
  return /^[1-9][0-9]{0,17}$/.test(value);
}

export function encodeIdCursor(list: string, id: string): string {
  return Buffer.from(`${list}:${id}`).toString('base64url');
}

export function decodeIdCursor(list: string, cursor: string, message: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith(`${list}:`) ? text.slice(list.length + 1) : '';
  if (!isEntryId(id) || encodeIdCursor(list, id) !== cursor) throw new AppError('invalid_cursor', message);
  return id;
}
