import { createHash, randomBytes } from 'node:crypto';

/**
 * Secrets handed to clients. Each kind has its own prefix and its own table, so a token of one
 * kind is never accepted as another. 32 random bytes = 256 bits.
 */
export type TokenKind = 'session' | 'api' | 'invite' | 'verify' | 'service';

const PREFIX: Record<TokenKind, string> = {
  session: 'rs_sess_',
  api: 'rs_api_',
  invite: 'rs_inv_',
  verify: 'rs_ver_',
  service: 'rs_svc_',
};

export function newToken(kind: TokenKind): { token: string; hash: Buffer } {
  const token = PREFIX[kind] + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/** Tokens are high-entropy, so one SHA-256 is enough; only this hash is stored. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function tokenKindOf(token: string): TokenKind | undefined {
  return (Object.keys(PREFIX) as TokenKind[]).find((kind) => token.startsWith(PREFIX[kind]));
}

const SECRET_PATTERN = /rs_(sess|api|inv|ver|svc)_[A-Za-z0-9_-]+/g;

/** Replaces every Roster token in `text` (a URL, an error message) so none reaches a log line. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, 'rs_$1_[redacted]');
}
