import { randomUUID } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids in paths are opaque to clients; a malformed one is simply an id that does not exist. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** The time part of the ids of the current millisecond, made once per millisecond. */
let prefixMillis = -1;
let prefix = '';

/**
 * A new id for a row of a table that only grows (invitations, the mail outbox, events): a UUIDv7,
 * whose first 48 bits are the time in milliseconds, so each insert lands at the right edge of the
 * table's id indexes where a random UUID lands on a random page of a large index (bench/README.md,
 * "Accepting by id: an index, and time-ordered ids"). Made from node's pooled randomUUID (its 74
 * random bits after the version nibble, and its variant bits, which v7 shares): the `uuid`
 * package's v7 draws its random bytes from WebCrypto on every call, 6.6 µs an id against 0.5 µs
 * here, which was 7 ms of a bulk of 1,000 invitations. The id stays opaque; it tells when the row
 * was made, which no reply hides.
 */
export function newRowId(): string {
  const now = Date.now();
  if (now !== prefixMillis) {
    const hex = now.toString(16).padStart(12, '0');
    prefix = `${hex.slice(0, 8)}-${hex.slice(8)}-7`;
    prefixMillis = now;
  }
  return prefix + randomUUID().slice(15); // randomUUID: xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx
}
