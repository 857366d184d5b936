import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../core/config.ts';
import type { Queryable } from '../db/client.ts';
import { cachedServerKey } from '../invites/queries.ts';
import type { Sealed } from './sealed.ts';
import { escapeHtml } from './templates.ts';

/**
 * The tokens in an email waiting in the outbox, sealed (the contract stores invitation,
 * verification and reset tokens only as hashes). An email is queued in the transaction of the
 * change it announces and waits until the delivery worker sends it, which is up to a day while SMTP
 * is down; until 2026-12-04 its row held the live link all that time, so a copy of the database or
 * a backup could accept an invitation or reset a password. Now each token in a queued message is
 * stored encrypted (`sealed.inv.…` for `rs_inv_…`), and the worker opens it only to send the
 * message; once sent or failed for good, the row's tokens are redacted (src/mail/redaction.ts).
 * Every text of a queued message is stored through this module (the type `Sealed`): sealed, or, for
 * a message without a token, as it is. Either way, text that merely looks like a sealed token (a
 * name typed to look like one) gets a zero-width space after `sealed`, so only what the sealer wrote
 * is ever opened.
 *
 * The key: derived from LINK_SECRET when it is set (so a copy of the database alone opens nothing,
 * as for invitation links); without it, generated once and kept in `server_keys`, shared by every
 * process on the database. Changing LINK_SECRET leaves the emails still waiting unopenable: they
 * fail for good with a message that says so (their links would not work either).
 *
 * AES-256-CTR with one random 128-bit counter start per queued batch: a bulk invitation's 1,000
 * links cost about 1 ms, where one AES-GCM cipher per token cost about 12 ms (a slow machine,
 * 2026-12-04). Each sealed token names the batch's start and its byte offset in the
 * batch's key stream, so it opens alone. Nothing authenticates the ciphertext: whoever could alter
 * it can already write the outbox (the recipient, the message), and an opened token is checked to
 * be made of a token's characters, so a wrong key is recognized (a false match is about 2^-86).
 */
export type { Sealed } from './sealed.ts';

export interface MailSealer {
  /** Each text with every Roster token in it sealed; the texts of one call share one cipher. */
  seal(texts: readonly string[]): Sealed[];
  /** A rendered message (src/mail/templates.ts) with its bodies sealed. */
  message(message: RenderedMessage): SealedMessage;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

export interface SealedMessage {
  subject: string;
  text: Sealed;
  html: Sealed;
}

/** The live tokens a message may carry: prefix kind, then its body (src/core/tokens.ts). */
const TOKEN = /rs_(sess|api|inv|ver|rst|svc)_([A-Za-z0-9_-]+)/g;
/** A sealed token: its kind, the batch's counter start, its offset in the batch's key stream, its sealed body. */
const SEALED = /sealed\.(sess|api|inv|ver|rst|svc)\.([A-Za-z0-9_-]{22})\.(\d+)\.([A-Za-z0-9_-]+)/g;
const TOKEN_BODY = /^[A-Za-z0-9_-]+$/;

/** `text` with whatever looks like a sealed token made not to (see above). */
function withoutLookalikes(text: string): string {
  return text.replace(SEALED, (lookalike) => `sealed\u200b${lookalike.slice('sealed'.length)}`);
}

export function createMailSealer(key: Buffer): MailSealer {
  const seal = (texts: readonly string[]): Sealed[] => {
    // Every token of the batch found first, then encrypted by one call, then put back in place:
    // about 0.8 µs a link (a cipher per token cost about 12 µs, one call per token about 2 µs).
    const stored = texts.map(withoutLookalikes);
    const found = stored.map((text) => [...text.matchAll(TOKEN)]);
    const bodies = found.flatMap((matches) => matches.map((match) => match[2]!)).join('');
    if (bodies.length === 0) return stored as Sealed[];
    const start = randomBytes(16);
    const startText = start.toString('base64url');
    const stream = createCipheriv('aes-256-ctr', key, start).update(bodies, 'latin1');
    let offset = 0;
    return found.map((matches, index) => {
      const text = stored[index]!;
      let sealed = '';
      let from = 0;
      for (const match of matches) {
        const body = match[2]!;
        const cipherText = stream.subarray(offset, offset + body.length).toString('base64url');
        sealed += `${text.slice(from, match.index)}sealed.${match[1]!}.${startText}.${offset}.${cipherText}`;
        from = match.index + match[0].length;
        offset += body.length;
      }
      return (sealed + text.slice(from)) as Sealed;
    });
  };
  return {
    seal,
    message(message) {
      const [text, html] = seal([message.text, message.html]);
      return { subject: message.subject, text: text!, html: html! };
    },
  };
}

/** The key stream's counter block at `blocks` past `start` (a 128-bit big-endian counter, as OpenSSL's CTR mode counts). */
function counterAt(start: Buffer, blocks: number): Buffer {
  const counter = Buffer.from(start);
  let carry = BigInt(blocks);
  for (let index = 15; index >= 0 && carry > 0n; index--) {
    const sum = BigInt(counter[index]!) + (carry & 0xffn);
    counter[index] = Number(sum & 0xffn);
    carry = (carry >> 8n) + (sum >> 8n);
  }
  return counter;
}

export class UnsealError extends Error {}

/** `text` with every sealed token opened: what is sent. Throws UnsealError when `key` is not the one that sealed it. */
export function unsealText(key: Buffer, text: string): string {
  return text.replace(SEALED, (_sealed, kind: string, startText: string, offsetText: string, sealedBody: string) => {
    const offset = Number(offsetText);
    const skip = offset % 16;
    const decipher = createDecipheriv(
      'aes-256-ctr',
      key,
      counterAt(Buffer.from(startText, 'base64url'), Math.floor(offset / 16)),
    );
    const body = decipher
      .update(Buffer.concat([Buffer.alloc(skip), Buffer.from(sealedBody, 'base64url')]))
      .subarray(skip)
      .toString('latin1');
    if (!TOKEN_BODY.test(body)) {
      throw new UnsealError('A link in this email was sealed with another key (LINK_SECRET changed?); it cannot be sent.');
    }
    return `rs_${kind}_${body}`;
  });
}

/**
 * A sealed text escaped for HTML (a link for an href): escaping leaves a sealed token as it is (it
 * holds no character that escaping changes), so the HTML carries the same sealed token as the text
 * and a bulk seals each link once.
 */
export function escapeSealedHtml(text: Sealed): Sealed {
  return escapeHtml(text) as Sealed;
}

/** Every sealed token of `text` replaced as redactSecrets replaces a live one (`rs_inv_[redacted]`). */
export function redactSealed(text: string): string {
  return text.replace(SEALED, 'rs_$1_[redacted]');
}

/**
 * A text its caller knows to carry no token (a notice without a link, the message a bulk's links are
 * put into), as stored. Not checked for tokens: user text (an org named `rs_api_team`) may look
 * like one.
 */
export function withoutSecrets(text: string): Sealed {
  return withoutLookalikes(text) as Sealed;
}

/** A rendered message that carries no token (a notice), as stored (withoutSecrets). */
export function messageWithoutSecrets(message: RenderedMessage): SealedMessage {
  return { subject: message.subject, text: withoutSecrets(message.text), html: withoutSecrets(message.html) };
}

/** server_keys' row of the outbox key when LINK_SECRET is unset. */
export const OUTBOX_KEY_NAME = 'outbox_tokens';

/** The outbox key (see above): from LINK_SECRET, or the database's, read once per database handle. */
export function outboxKey(config: Pick<Config, 'linkSecret'>, db: Queryable): Promise<Buffer> {
  if (config.linkSecret) {
    return Promise.resolve(Buffer.from(hkdfSync('sha256', config.linkSecret, '', 'roster outbox tokens', 32)));
  }
  return cachedServerKey(db, OUTBOX_KEY_NAME, () => randomBytes(32));
}

/** The sealer of the outbox key: load it before the transaction that queues the mail (the key's first read may write it). */
export async function mailSealer(config: Pick<Config, 'linkSecret'>, db: Queryable): Promise<MailSealer> {
  return createMailSealer(await outboxKey(config, db));
}
