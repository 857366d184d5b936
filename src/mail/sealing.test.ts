import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newToken } from '../core/tokens.ts';
import { redactedMessage } from './redaction.ts';
import {
  createMailSealer,
  messageWithoutSecrets,
  outboxKey,
  redactSealed,
  unsealText,
  UnsealError,
  withoutSecrets,
} from './sealing.ts';

const LIVE_TOKEN = /rs_(?:sess|api|inv|ver|rst|svc)_[A-Za-z0-9_-]+/;

describe('sealing the tokens of a queued email', () => {
  const key = randomBytes(32);
  const sealer = createMailSealer(key);

  it('seals every token of every text, and opens each back as it was', () => {
    const [invite, verify, reset] = [newToken('invite').token, newToken('verify').token, newToken('reset').token];
    const texts = [
      `Join us: https://roster.test/invite/${invite} (or paste ${invite})`,
      `<a href="https://roster.test/verify-email?token=${verify}">Confirm</a>`,
      `Reset: https://roster.test/reset-password?token=${reset}`,
      'A notice without a link.',
    ];
    const sealed = sealer.seal(texts);
    for (const text of sealed) expect(text).not.toMatch(LIVE_TOKEN);
    expect(sealed[0]).toMatch(
      /^Join us: https:\/\/roster\.test\/invite\/sealed\.inv\.[A-Za-z0-9_-]{22}\.0\.[A-Za-z0-9_-]+ \(or paste sealed\.inv\./,
    );
    expect(sealed[3]).toBe('A notice without a link.');
    // The same token twice in one batch: two different ciphertexts (each its own part of the key stream).
    const [first, second] = [...sealed[0]!.matchAll(/sealed\.inv\.[^ )]+/g)].map((match) => match[0]);
    expect(first).not.toBe(second);
    expect(sealed.map((text) => unsealText(key, text))).toEqual(texts);
  });

  it('opens a token alone, wherever it sits in its batch (offsets not on a block boundary)', () => {
    const tokens = Array.from({ length: 7 }, () => newToken('invite').token);
    const sealed = sealer.seal(tokens);
    expect(unsealText(key, sealed[5]!)).toBe(tokens[5]);
    expect(unsealText(key, `${sealed[3]!} and ${sealed[1]!}`)).toBe(`${tokens[3]!} and ${tokens[1]!}`);
  });

  it('counts the key stream as a 128-bit counter, carried across every byte', () => {
    const start = Buffer.alloc(16, 0xff);
    const body = newToken('verify').token.slice('rs_ver_'.length);
    const offset = 40; // two blocks and 8 bytes past the start: the counter wraps to 0...01
    const stream = createCipheriv('aes-256-ctr', key, start).update(Buffer.alloc(offset + body.length));
    const cipherText = Buffer.from(body, 'latin1').map((byte, index) => byte ^ stream[offset + index]!);
    const sealed = `sealed.ver.${start.toString('base64url')}.${offset}.${Buffer.from(cipherText).toString('base64url')}`;
    expect(unsealText(key, sealed)).toBe(`rs_ver_${body}`);
  });

  it('refuses to open with another key (LINK_SECRET changed)', () => {
    const [sealed] = sealer.seal([`https://roster.test/invite/${newToken('invite').token}`]);
    expect(() => unsealText(randomBytes(32), sealed!)).toThrow(UnsealError);
  });

  it('never opens text that only looks sealed (a name typed like one): it is stored with a zero-width space', () => {
    const [real] = sealer.seal([newToken('invite').token]);
    const lookalike = `Mallory ${real!}`;
    const stored = [
      sealer.seal([lookalike])[0]!,
      withoutSecrets(lookalike),
      messageWithoutSecrets({ subject: 's', text: lookalike, html: lookalike }).text,
    ];
    for (const text of stored) {
      expect(text).toBe(`Mallory sealed\u200b${real!.slice('sealed'.length)}`);
      expect(unsealText(key, text)).toBe(text);
    }
  });

  it('is redacted like a live token once the mail has left', () => {
    const [sealed] = sealer.seal([`https://roster.test/invite/${newToken('invite').token}`]);
    expect(redactSealed(sealed!)).toBe('https://roster.test/invite/rs_inv_[redacted]');
    expect(
      redactedMessage({ template_id: null, text_body: sealed!, html_body: null, slot_text: null, slot_html: null }).text_body,
    ).toBe('https://roster.test/invite/rs_inv_[redacted]');
  });

  it('takes its key from LINK_SECRET when set, the same in every process, and not the secret itself', async () => {
    const secret = 'a link secret of at least thirty-two characters';
    const unused = undefined as never; // with LINK_SECRET, no database is read
    const [a, b] = [await outboxKey({ linkSecret: secret }, unused), await outboxKey({ linkSecret: secret }, unused)];
    expect(a.equals(b)).toBe(true);
    expect(a).toHaveLength(32);
    expect(a.equals(Buffer.from(secret, 'utf8').subarray(0, 32))).toBe(false);
    expect(a.equals(await outboxKey({ linkSecret: `${secret}!` }, unused))).toBe(false);
  });
});
