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
    const reason = error instanceof Error ? error.message : '';
    return { ok: false, error: `This is not valid JSON${reason ? `: ${reason}` : '.'}` };
  }
  if (!isJsonObject(value)) {
    return { ok: false, error: 'Settings must be a JSON object, for example {"theme": "dark"}.' };
  }
  return { ok: true, settings: value };
}

function isJsonObject(value: unknown): value is ProjectSettings {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
