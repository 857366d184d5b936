import { hash, randomBytes } from 'node:crypto';

/**
 * Secrets handed to clients. Each kind has its own prefix and its own table, so a token of one
 * kind is never accepted as another. 32 random bytes = 256 bits.
 */
export type TokenKind = 'session' | 'api' | 'invite' | 'verify' | 'reset' | 'service';

const PREFIX: Record<TokenKind, string> = {
  session: 'rs_sess_',
  api: 'rs_api_',
  invite: 'rs_inv_',
  verify: 'rs_ver_',
  reset: 'rs_rst_',
  service: 'rs_svc_',
};

export function newToken(kind: TokenKind): { token: string; hash: Buffer } {
  const token = PREFIX[kind] + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/** Tokens are high-entropy, so one SHA-256 is enough; only this hash is stored. */
export function hashToken(token: string): Buffer {
  // One-shot: no Hash object per call (this runs on every request of the usage hot path).
  return hash('sha256', token, 'buffer');
}

const KINDS = Object.keys(PREFIX) as TokenKind[];

export function tokenKindOf(token: string): TokenKind | undefined {
  for (const kind of KINDS) if (token.startsWith(PREFIX[kind])) return kind;
  return undefined;
}

const SECRET_PATTERN = /rs_(sess|api|inv|ver|rst|svc)_[A-Za-z0-9_-]+/g;

/**
 * Replaces every Roster token in `text` (a URL, an error message) so none reaches a log line. A URL
 * may carry a token percent-encoded (`rs%5Finv%5F…`, which the server decodes and accepts, or
 * encoded twice): the escapes of the characters tokens are made of are decoded first.
 */
export function redactSecrets(text: string): string {
  return decodeTokenCharacters(text).replace(SECRET_PATTERN, 'rs_$1_[redacted]');
}

const ESCAPE = /%([0-9A-Fa-f]{2})/g;
const TOKEN_OR_PERCENT = /[A-Za-z0-9_%-]/;

function decodeTokenCharacters(text: string): string {
  let decoded = text;
  // Each round undoes one level of encoding ('%255F' -> '%5F' -> '_'); a few rounds bound the work.
  for (let round = 0; round < 4 && decoded.includes('%'); round++) {
    const next = decoded.replace(ESCAPE, (escape, hex: string) => {
      const character = String.fromCharCode(parseInt(hex, 16));
      return TOKEN_OR_PERCENT.test(character) ? character : escape;
    });
    if (next === decoded) break;
    decoded = next;
  }
  return decoded;
}
