import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { linkSecretWarning, mailTransportFor } from './background.ts';
import { loadConfig } from './config.ts';

const logger = pino({ level: 'silent' });

describe('how a process delivers email', () => {
  it('over SMTP with SMTP_URL, in production or not', () => {
    for (const env of [{}, { NODE_ENV: 'production', BILLING: 'local' }]) {
      const transport = mailTransportFor(loadConfig({ ...env, SMTP_URL: 'smtp://127.0.0.1:2525' }), logger);
      expect(transport?.name).toBe('smtp');
      transport?.close();
    }
  });

  it('to the local mailbox in development without SMTP_URL', () => {
    expect(mailTransportFor(loadConfig({}), logger)?.name).toBe('local-mailbox');
  });

  it('not at all in production without SMTP_URL: emails wait for a process that has it (regression: marked sent into an unread mailbox)', () => {
    expect(mailTransportFor(loadConfig({ NODE_ENV: 'production', BILLING: 'local' }), logger)).toBeUndefined();
  });
});

describe('the keys of links', () => {
  it('warns at start in production without LINK_SECRET (its keys would sit in the database), and not otherwise', () => {
    const production = { NODE_ENV: 'production', BILLING: 'local' };
    expect(linkSecretWarning(loadConfig(production))).toMatch(/^LINK_SECRET is not set: .*copy or backup/);
    expect(linkSecretWarning(loadConfig({ ...production, LINK_SECRET: 'x'.repeat(32) }))).toBeUndefined();
    expect(linkSecretWarning(loadConfig({}))).toBeUndefined();
  });
});
