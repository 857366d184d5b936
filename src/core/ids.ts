const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids in paths are opaque to clients; a malformed one is simply an id that does not exist. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
