import type { ProjectSettings } from '../../api/projects';

export type SettingsParse = { ok: true; settings: ProjectSettings } | { ok: false; error: string };

/** The settings as the editor shows them: pretty-printed with two spaces. */
export function formatSettings(settings: ProjectSettings | null | undefined): string {
  return JSON.stringify(settings ?? {}, null, 2);
}

/**
 * Reads the settings textarea. The contract wants a JSON object; its size limit (64 KiB) is the
 * server's to enforce (400 `invalid_settings`), so it is not checked here.
 */
export function parseSettings(text: string): SettingsParse {
  if (!text.trim()) return { ok: false, error: 'Enter the settings as a JSON object, for example {}.' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: invalidJsonMessage(text, error instanceof Error ? error.message : '') };
  }
  if (!isJsonObject(value)) {
    return { ok: false, error: 'Settings must be a JSON object, for example {"theme": "dark"}.' };
  }
  return { ok: true, settings: value };
}

function isJsonObject(value: unknown): value is ProjectSettings {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A plain sentence for a JSON.parse error, never the parser's own message: where the error is when
 * the message says ("line 1 column 2" in Chrome and Firefox, "position 9" in older engines).
 */
export function invalidJsonMessage(text: string, parserMessage: string): string {
  const advice = 'Check for a missing quote, comma or brace.';
  const where = errorLocation(text, parserMessage);
  return where
    ? `This is not valid JSON (line ${where.line}, column ${where.column}). ${advice}`
    : `This is not valid JSON. ${advice}`;
}

function errorLocation(text: string, parserMessage: string): { line: number; column: number } | null {
  const lineColumn = /line (\d+) column (\d+)/i.exec(parserMessage);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /position (\d+)/i.exec(parserMessage);
  if (!position) return null;
  const before = text.slice(0, Number(position[1])).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}
