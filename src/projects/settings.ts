import { AppError } from '../core/errors.ts';
import { hasUnstorableText } from '../core/text.ts';

// A project's `settings`: a JSON object Roster stores for the host app and never interprets.

/** Contract: at most 64 KiB, counted as the UTF-8 bytes of the object serialized as JSON. */
export const SETTINGS_MAX_BYTES = 64 * 1024;
/** Deeper nesting than any real settings object; bounds the work of checking and storing it. */
export const SETTINGS_MAX_DEPTH = 64;

// PostgreSQL's jsonb cannot hold U+0000 nor a surrogate half without its pair. Over HTTP every body
// is checked for them first (400 invalid_request); this check keeps other callers of the service
// from failing in the database.

/** The settings object as given, or `invalid_settings` saying what to change. */
export function parseSettings(settings: Record<string, unknown>): Record<string, unknown> {
  checkShape(settings);
  const bytes = Buffer.byteLength(JSON.stringify(settings), 'utf8');
  if (bytes > SETTINGS_MAX_BYTES) {
    throw new AppError(
      'invalid_settings',
      `Project settings are ${bytes} bytes of JSON; keep them within ${SETTINGS_MAX_BYTES} bytes (64 KiB).`,
      { max_bytes: SETTINGS_MAX_BYTES, bytes },
    );
  }
  return settings;
}

/** Walks the value without recursion (a hostile body cannot exhaust the stack). */
function checkShape(settings: Record<string, unknown>): void {
  const pending: { value: unknown; depth: number }[] = [{ value: settings, depth: 1 }];
  while (pending.length > 0) {
    const { value, depth } = pending.pop()!;
    if (typeof value === 'string') {
      if (hasUnstorableText(value)) throw unstorable();
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > SETTINGS_MAX_DEPTH) {
      throw new AppError('invalid_settings', `Project settings nest deeper than ${SETTINGS_MAX_DEPTH} levels; flatten them.`, {
        max_depth: SETTINGS_MAX_DEPTH,
      });
    }
    for (const [key, child] of Object.entries(value)) {
      if (hasUnstorableText(key)) throw unstorable();
      pending.push({ value: child, depth: depth + 1 });
    }
  }
}

function unstorable(): AppError {
  return new AppError('invalid_settings', 'Project settings cannot contain the character U+0000 or an unpaired surrogate.');
}

/** The same JSON value whatever the key order (jsonb reorders keys): tells whether settings change. */
export function sameSettings(left: unknown, right: unknown): boolean {
  return JSON.stringify(canonical(left)) === JSON.stringify(canonical(right));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}
