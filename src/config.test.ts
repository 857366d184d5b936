import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { MAX_SEATS } from './billing/plans.ts';

describe('configuration', () => {
  it('has the contract defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: './data',
      databaseUrl: undefined,
      publicUrl: 'http://localhost:3000',
      smtpUrl: undefined,
      bulkInviteMax: 100,
      inviteTtlSeconds: 604800,
      isProduction: false,
      trustProxy: false,
      mailRetentionDays: 30,
      webhookRetentionDays: 30,
    });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    // Regression: read by Number() as 0 (a random port, links to localhost:0) or as hexadecimal.
    ['PORT', ' '],
    ['PORT', '0'],
    ['PORT', '80.0'],
    ['INVITE_TTL_SECONDS', '0x10'],
    ['BULK_INVITE_MAX', ' '],
    ['USAGE_COUNTER_SLICES', '1e1'],
    ['DATABASE_URL', 'mysql://x'],
    ['PUBLIC_URL', 'not a url'],
    ['SMTP_URL', 'http://mail'],
    ['BULK_INVITE_MAX', '0'],
    ['INVITE_TTL_SECONDS', '-5'],
    ['LINK_SECRET', 'too-short'],
    ['MAIL_RETENTION_DAYS', '-1'],
    ['WEBHOOK_RETENTION_DAYS', 'a month'],
    ['WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'yes'],
    ['WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'TRUE'],
  ])('refuses a bad %s with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it.each([
    ['MAIL_FROM', 'Roster <a@example.com>\nBcc: victim@evil.example'],
    ['MAIL_FROM', 'Roster <a@example.com>\r\nBcc: victim@evil.example'],
    ['MAIL_FROM', 'a@example.com\rX: y'],
    ['MAIL_FROM', 'no address here'],
    ['MAIL_FROM', 'Roster <not-an-address>'],
    ['MAIL_FROM', 'a@example.com, b@example.com'],
    ['TRUST_PROXY', 'bogus'],
    ['TRUST_PROXY', '10.0.0.1,bogus'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.0/0'],
    ['TRUST_PROXY', '10.0.0.0/255.0.255.0'],
    ['TRUST_PROXY', 'true'],
    ['PUBLIC_URL', 'ftp://roster.example'],
    ['PUBLIC_URL', 'javascript:alert(1)'],
    // Regression: accepted, then every emailed link had its path and token inside the query or fragment.
    ['PUBLIC_URL', 'http://x.example/path?q=1#frag'],
    ['PUBLIC_URL', 'https://roster.example/#'],
    ['PUBLIC_URL', 'https://user:secret@roster.example'],
    // Regression: accepted, then every invitation answered 500 (an expiry past what a date holds).
    ['INVITE_TTL_SECONDS', '99999999999999'],
    ['INVITE_TTL_SECONDS', String(366 * 24 * 3600)],
    // Regression: accepted, then billing routes answered 500 once credits × seats passed 2^53.
    ['TEAM_CREDITS_PER_SEAT', '1000000000000'],
    ['MAIL_RETENTION_DAYS', '99999999999'],
    ['DATABASE_IDLE_TX_TIMEOUT_MS', '2147483648'],
    ['NODE_ENV', 'Production'],
    ['NODE_ENV', 'staging'],
  ])('refuses %s=%j at load, naming it (regression: accepted, then failed or misbehaved later)', (name, value) => {
    expect(() => loadConfig({ [name]: value, BILLING: 'local' })).toThrow(new RegExp(`${name}: `));
  });

  it('accepts MAIL_FROM as an address or Name <address>', () => {
    expect(loadConfig({ MAIL_FROM: 'no-reply@example.com' }).mailFrom).toBe('no-reply@example.com');
    expect(loadConfig({ MAIL_FROM: 'Roster <no-reply@example.com>' }).mailFrom).toBe('Roster <no-reply@example.com>');
    expect(loadConfig({ MAIL_FROM: '"Acme, Inc." <a@mail.acme.example>' }).mailFrom).toBe('"Acme, Inc." <a@mail.acme.example>');
    expect(loadConfig({ PUBLIC_URL: 'https://roster.example' }).mailFrom).toBe('Roster <no-reply@roster.example>');
  });

  it('accepts TRUST_PROXY addresses, CIDR ranges, netmasks and the named ranges', () => {
    const value = '10.0.0.1, 10.0.0.0/8,192.168.0.0/255.255.0.0,::1,fd00::/8,loopback,uniquelocal,linklocal';
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(value.split(',').map((entry) => entry.trim()));
  });

  it('accepts NODE_ENV production, development and test', () => {
    expect(loadConfig({ NODE_ENV: 'production', BILLING: 'local' }).isProduction).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development' }).isProduction).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test' }).isProduction).toBe(false);
  });

  it('refuses private webhook receivers in production unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true', () => {
    expect(loadConfig({}).webhookAllowPrivateNetworks).toBe(false);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' }).webhookAllowPrivateNetworks).toBe(false);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }).webhookAllowPrivateNetworks).toBe(true);
  });

  it('derives PUBLIC_URL from PORT and trims a trailing slash', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://roster.example/' }).publicUrl).toBe('https://roster.example');
  });

  it('accepts the largest INVITE_TTL_SECONDS, TEAM_CREDITS_PER_SEAT and retention days, which dates and sums can hold', () => {
    const config = loadConfig({
      INVITE_TTL_SECONDS: String(365 * 24 * 3600),
      TEAM_CREDITS_PER_SEAT: '1000000000',
      MAIL_RETENTION_DAYS: '36500',
    });
    expect(new Date(Date.now() + config.inviteTtlSeconds * 1000).toISOString()).toMatch(/^\d{4}-/);
    expect(Number.isSafeInteger(config.teamCreditsPerSeat * MAX_SEATS)).toBe(true);
    expect(new Date(Date.now() - config.mailRetentionDays * 86_400_000).toISOString()).toMatch(/^\d{4}-/);
  });

  describe('billing', () => {
    const stripe = { STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x', STRIPE_PRICE_TEAM: 'price_x' };

    it('uses Stripe when all three variables are set, with STRIPE_API_BASE and TEAM_CREDITS_PER_SEAT', () => {
      const config = loadConfig({ ...stripe, STRIPE_API_BASE: 'http://127.0.0.1:12111' });
      expect(config.stripe).toEqual({
        secretKey: 'sk_test_x',
        webhookSecret: 'whsec_x',
        priceTeam: 'price_x',
        apiBase: 'http://127.0.0.1:12111',
      });
      expect(config.teamCreditsPerSeat).toBe(1000);
      expect(loadConfig({}).stripe).toBeNull();
    });

    it.each(['STRIPE_WEBHOOK_SECRET', 'STRIPE_PRICE_TEAM'])(
      'refuses to start with STRIPE_SECRET_KEY but no %s, naming it',
      (missing) => {
        const env: Record<string, string> = { ...stripe };
        delete env[missing];
        expect(() => loadConfig(env)).toThrow(new RegExp(`${missing}: required when STRIPE_SECRET_KEY is set`));
      },
    );

    it.each([
      ['STRIPE_SECRET_KEY', 'pk_test_x'],
      ['STRIPE_SECRET_KEY', 'sk_x'],
      ['STRIPE_WEBHOOK_SECRET', 'x'],
      ['STRIPE_PRICE_TEAM', 'y'],
      ['STRIPE_PRICE_TEAM', 'price_ x'],
    ])('refuses %s=%j at start, naming it (regression: accepted, failed at the first checkout or webhook)', (name, value) => {
      expect(() => loadConfig({ ...stripe, [name]: value })).toThrow(new RegExp(`${name}: must be`));
    });

    it('accepts a restricted key (rk_live_…) as STRIPE_SECRET_KEY', () => {
      expect(loadConfig({ ...stripe, STRIPE_SECRET_KEY: 'rk_live_abc' }).stripe?.secretKey).toBe('rk_live_abc');
    });

    it('refuses a webhook secret or price without the key, and a bad STRIPE_API_BASE', () => {
      expect(() => loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_x' })).toThrow(/STRIPE_SECRET_KEY/);
      expect(() => loadConfig({ ...stripe, STRIPE_API_BASE: 'ftp://stub' })).toThrow(/STRIPE_API_BASE/);
    });

    it('refuses the local provider under NODE_ENV=production unless BILLING=local', () => {
      expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/BILLING=local/);
      expect(loadConfig({ NODE_ENV: 'production', BILLING: 'local' }).stripe).toBeNull();
      expect(loadConfig({ NODE_ENV: 'production', ...stripe }).stripe).not.toBeNull();
      expect(() => loadConfig({ BILLING: 'stripe' })).toThrow(/BILLING/);
    });
  });
});
