import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import type { Queryable } from '../db/client.ts';
import { cachedServerKey } from '../invites/queries.ts';

/** Where development keeps its generated key when WEBHOOK_SECRET_KEY is unset. */
export const DEVELOPMENT_KEY_FILE = 'webhook-secret.key';

const developmentKeys = new Map<string, Buffer>();

/** server_keys' row of development's key on PostgreSQL. */
export const DEVELOPMENT_KEY_NAME = 'webhook_secrets_development';

/**
 * The key that encrypts webhook signing secrets: WEBHOOK_SECRET_KEY; in development, without it, a
 * key generated once: on the embedded engine kept in DATA_DIR (mode 0600) beside the database, on
 * PostgreSQL in the database (server_keys), so every process on it shares one whatever directory it
 * started in, and restarts keep decrypting. In production, without it, none (webhooks cannot be
 * created or delivered: a key beside the data it protects is no protection, and a key that changes
 * on restart would lose every endpoint).
 */
export async function webhookKey(
  config: Pick<Config, 'webhookSecretKey' | 'isProduction' | 'dataDir' | 'databaseUrl'>,
  db: Queryable,
): Promise<Buffer | undefined> {
  if (config.webhookSecretKey) return config.webhookSecretKey;
  if (config.isProduction) return undefined;
  const path = join(resolve(config.dataDir), DEVELOPMENT_KEY_FILE);
  if (!config.databaseUrl) {
    let key = developmentKeys.get(path);
    if (!key) {
      key = readOrCreateKey(path);
      developmentKeys.set(path, key);
    }
    return key;
  }
  // Before 2026-12-03 PostgreSQL's development key was a file in DATA_DIR (relative to where the
  // process started): the first process to store the key brings that one, so existing endpoints
  // keep decrypting.
  return cachedServerKey(db, DEVELOPMENT_KEY_NAME, () => readKeyIfPresent(path) ?? randomBytes(32));
}

function readKeyIfPresent(path: string): Buffer | null {
  try {
    return parseKey(readFileSync(path, 'utf8'), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function readOrCreateKey(path: string): Buffer {
  const existing = readKeyIfPresent(path);
  if (existing) return existing;
  mkdirSync(resolve(path, '..'), { recursive: true });
  // Written whole under a temporary name, then linked into place: two processes starting at once
  // end up with the same key (the second link fails and that process reads the first one's).
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
  return parseKey(readFileSync(path, 'utf8'), path);
}

function parseKey(text: string, path: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key; delete it or set WEBHOOK_SECRET_KEY.`);
  return key;
}
