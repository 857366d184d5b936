// Billing in the browser: Debian's Chromium against the real server on PGlite (local billing
// provider: checkout completes at once). The owner changes seats on the Billing page and sees the
// server's refusal below active + pending; a member sees the storage pool but no Billing; someone
// who bought a personal Team plan and left is not asked to pay again, and sees it on the Account
// page; after support moves the org to Enterprise with the operator CLI, the page shows the
// Enterprise card.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { PASSWORD } from '../kit/given.ts';
import { suiteDatabase, type SuiteDatabase } from '../kit/postgres.ts';
import { runRosterInProcess, startServerProcess, type ServerProcess } from '../kit/server.ts';
import {
  apiPost,
  ensureDashboardBuilt,
  launchBrowser,
  orgWithMember,
  screenshot,
  seriousAxeViolations,
  shouldRunBrowserTests,
} from './browser.ts';

const STEP_TIMEOUT = 60_000;
const SETUP_TIMEOUT = 240_000;

function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('[data-sonner-toast]', { hasText: text });
}

describe.runIf(shouldRunBrowserTests)('billing in the browser', () => {
  let server: ServerProcess;
  let database: SuiteDatabase;
  let browser: Browser;
  let owner: BrowserContext;
  let member: BrowserContext;
  let ownerPage: Page;
  const suffix = Date.now().toString(36);
  const slug = `billing-${suffix}`;
  const ownerEmail = `bea-owner-${suffix}@example.com`;
  const memberEmail = `milo-${suffix}@example.com`;

  beforeAll(async () => {
    ensureDashboardBuilt();
    database = await suiteDatabase('roster_browser');
    server = await startServerProcess({ env: database.env });
    browser = await launchBrowser();

    // The organization comes from the API: one owner, one member who joined, one pending invitation.
    ({ owner, member } = await orgWithMember(browser, server.url, {
      owner: { email: ownerEmail, name: 'Bea Owner' },
      member: { email: memberEmail, name: 'Milo Member' },
      org: { name: `Billing ${suffix}`, slug },
    }));
    await apiPost(owner, server.url, '/api/v1/org/invite', { email: `pending-${suffix}@example.com`, role: 'member' });
    ownerPage = await owner.newPage();
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await database?.drop();
  });

  it(
    'lets the owner change seats, and shows the refusal below active members plus pending invitations',
    async () => {
      const page = ownerPage;
      await page.goto(`${server.url}/settings/members`);
      await page.getByRole('link', { name: 'Billing' }).click();
      await page.getByRole('heading', { name: 'Billing', exact: true }).waitFor();
      await page.getByRole('heading', { name: 'Subscription' }).waitFor();
      const seats = page.getByLabel('Number of seats');
      await expect(seats.inputValue()).resolves.toBe('5');
      await page.getByText('0 B of 5.0 GiB used').waitFor();
      await screenshot(page, 'billing-01-team');

      // Fewer seats than members plus pending invitations is refused on the field, before any
      // price is shown; a seat change that can work asks for confirmation first, with its price.
      await seats.fill('2');
      await page.getByRole('button', { name: 'Update seats' }).click();
      await page.getByText('You have 2 members and 1 pending invitation; choose at least 3 seats.').waitFor();
      await expect(page.getByRole('alertdialog').count()).resolves.toBe(0);
      await screenshot(page, 'billing-02-refused');

      await seats.fill('7');
      await page.getByRole('button', { name: 'Update seats' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Change seats from 5 to 7?' });
      await confirm.getByText(/7 seats × \$14\.99 = \$104\.93 per month/).waitFor();
      await page.getByRole('button', { name: 'Change seats' }).click();
      await toast(page, 'Seats updated to 7').waitFor();
      await page.getByText('0 B of 7.0 GiB used').waitFor();
      await expect(seats.inputValue()).resolves.toBe('7');
      await screenshot(page, 'billing-03-updated');

      const violations = await seriousAxeViolations(page);
      expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    },
    STEP_TIMEOUT,
  );

  it(
    'fits a 375 px wide phone screen',
    async () => {
      const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, storageState: await owner.storageState() });
      try {
        const page = await phone.newPage();
        await page.goto(`${server.url}/settings/billing`);
        await page.getByRole('heading', { name: 'Subscription' }).waitFor();
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).toBeLessThanOrEqual(0);
        await screenshot(page, 'billing-04-375px');
      } finally {
        await phone.close();
      }
    },
    STEP_TIMEOUT,
  );

  it(
    'shows a member the storage pool on the Organization page, and no Billing',
    async () => {
      const page = await member.newPage();
      await page.goto(`${server.url}/settings/organization`);
      await page.getByRole('heading', { name: 'Organization', exact: true }).waitFor();
      await page.getByText('0 B of 7.0 GiB used').waitFor();
      await expect(page.getByRole('link', { name: 'Billing' }).count()).resolves.toBe(0);
      await screenshot(page, 'billing-05-member-organization');
      await page.close();
    },
    STEP_TIMEOUT,
  );

  it(
    'does not ask someone who checked out a personal Team plan and left to pay again, and shows it on the Account page',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      try {
        await apiPost(context, server.url, '/api/v1/auth/signup', {
          email: `pat-payer-${suffix}@example.com`,
          name: 'Pat Payer',
          password: PASSWORD,
        });
        const page = await context.newPage();
        await page.goto(`${server.url}/create-org`);
        await page.getByLabel('Seats').fill('4');
        await page.getByRole('button', { name: 'Continue to checkout' }).click();
        const checkout = page.getByRole('alertdialog', { name: 'Subscribe to the Team plan?' });
        await checkout.getByText('4 seats × $14.99 = $59.96 per month').waitFor();
        await checkout.getByRole('button', { name: 'Confirm and check out' }).click();
        // The local provider completes the checkout at once: on to naming the organization.
        await page.getByRole('heading', { name: 'Name your organization' }).waitFor();
        await page.getByText(/Your Team plan is active/).waitFor();

        // Left without creating the organization, and back another day: the plan step shows what was bought.
        await page.goto(`${server.url}/account`);
        await page.getByRole('heading', { name: 'Account', exact: true }).waitFor();
        await page.goto(`${server.url}/create-org`);
        await page.getByText('You have a Team subscription for 4 seats.').waitFor();
        await expect(page.getByRole('button', { name: 'Continue to checkout' }).count()).resolves.toBe(0);
        await screenshot(page, 'billing-07-already-subscribed');
        await page.getByRole('button', { name: 'Continue', exact: true }).click();
        await page.getByRole('heading', { name: 'Name your organization' }).waitFor();
        await page.getByText(/Your Team plan is active/).waitFor();

        await page.goto(`${server.url}/account`);
        const card = page.locator('section', { has: page.getByRole('heading', { name: 'Subscription' }) });
        await card.getByText('Team', { exact: true }).waitFor();
        await card.getByText('4', { exact: true }).waitFor();
        await card.getByText('Active', { exact: true }).waitFor();
        // The local provider has no payment portal: the card says so rather than leave the page.
        await card.getByRole('button', { name: 'Manage billing' }).click();
        await card.getByText('No payment portal on this server').waitFor();
        expect(new URL(page.url()).pathname).toBe('/account');
        await screenshot(page, 'billing-08-account-subscription');

        const violations = await seriousAxeViolations(page);
        expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
      } finally {
        await context.close();
      }
    },
    STEP_TIMEOUT,
  );

  it(
    'shows the Enterprise card, without seat control or portal, once support moves the org to Enterprise',
    async () => {
      expect(await server.stop()).toBe(0);
      // The operator's CLI on the server's database: its PGlite data directory, or DATABASE_URL.
      const onDatabase = server.dataDir ? { DATA_DIR: server.dataDir, DATABASE_URL: '' } : database.env;
      const result = await runRosterInProcess(['admin', 'set-plan', slug, '--plan', 'enterprise', '--seats', '25'], {
        ...onDatabase,
        ROSTER_OPERATOR: 'support-sam',
        LOG_LEVEL: 'silent',
      });
      expect(result.code, result.stderr).toBe(0);
      server = await startServerProcess({ env: database.env, ...(server.dataDir ? { dataDir: server.dataDir } : {}) });

      const page = ownerPage;
      await apiPost(owner, server.url, '/api/v1/auth/login', { email: ownerEmail, password: PASSWORD });
      await page.goto(`${server.url}/settings/billing`);
      const card = page.locator('section', { has: page.getByRole('heading', { name: 'Enterprise plan' }) });
      await card.getByText('Managed by our team — contact support to change seats.').waitFor();
      await card.getByText('25', { exact: true }).waitFor();
      await expect(page.getByLabel('Number of seats').count()).resolves.toBe(0);
      await expect(page.getByRole('button', { name: 'Update seats' }).count()).resolves.toBe(0);
      await expect(page.getByRole('button', { name: 'Manage billing' }).count()).resolves.toBe(0);
      await page.getByText('0 B used · Unlimited').waitFor();
      await screenshot(page, 'billing-06-enterprise');

      const violations = await seriousAxeViolations(page);
      expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    },
    STEP_TIMEOUT * 2,
  );
});
