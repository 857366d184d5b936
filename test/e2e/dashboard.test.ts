// The dashboard end to end: Debian's Chromium against the real server on PGlite.
// The flows follow one organization from the owner's signup to a disabled member, in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { suiteDatabase, type SuiteDatabase } from '../kit/postgres.ts';
import { startServerProcess, type ServerProcess } from '../kit/server.ts';
import {
  apiGet,
  apiPost,
  apiWrite,
  axeScan,
  ensureDashboardBuilt,
  launchBrowser,
  screenshot,
  shouldRunBrowserTests,
} from './browser.ts';

const STEP_TIMEOUT = 60_000;
const SETUP_TIMEOUT = 240_000;
const PASSWORD = 'correct horse battery staple';

function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('[data-sonner-toast]', { hasText: text });
}

/**
 * Holds a toast on screen and runs axe over the page with it: hovering pauses sonner's dismiss
 * timer, and the test fails unless axe actually measured the toast's text, so a contrast
 * regression on a toast always fails. Closes the toast afterwards to keep the stack short.
 */
async function expectAccessibleWithToast(page: Page, text: string): Promise<void> {
  // sonner turns its transitions off under reduced motion, so no toast is caught half-faded
  // (axe blends opacity into the colour it measures).
  await page.emulateMedia({ reducedMotion: 'reduce' });
  const shown = toast(page, text);
  await shown.hover();
  await expect
    .poll(() =>
      page.evaluate(() =>
        [...document.querySelectorAll('[data-sonner-toast], [data-sonner-toast] > *')].every((element) =>
          ['0', '1'].includes(getComputedStyle(element).opacity),
        ),
      ),
    )
    .toBe(true);
  await expect.poll(() => shown.locator('[data-title]').evaluate((title) => getComputedStyle(title).opacity)).toBe('1');
  const scan = await axeScan(page);
  const onScreen = await page.locator('[data-sonner-toast]').allInnerTexts();
  expect(scan.violations, `${JSON.stringify(scan.violations, null, 2)}\ntoasts: ${onScreen.join(' | ')}`).toEqual([]);
  const measured = scan.contrastChecked.filter((html) => html.includes(text));
  expect(measured, `axe could not measure: ${scan.contrastUndecided.join('\n')}`).not.toEqual([]);
  await shown.getByRole('button', { name: 'Close toast' }).click();
  await shown.waitFor({ state: 'detached' });
}

function row(page: Page, email: string): Locator {
  return page.locator('tbody tr', { hasText: email });
}

async function openRowMenu(page: Page, email: string): Promise<void> {
  await row(page, email)
    .getByRole('button', { name: /Actions for/ })
    .click();
}

async function fill(page: Page, label: string, value: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).fill(value);
}

/** Records the methods of every request to an invitation's accept endpoint. */
function recordAccepts(page: Page): string[] {
  const methods: string[] = [];
  page.on('request', (request) => {
    if (/\/api\/v1\/invites\/[^/]+\/accept$/.test(new URL(request.url()).pathname)) methods.push(request.method());
  });
  return methods;
}

async function publicInviteStatus(baseUrl: string, link: string): Promise<string> {
  const token = new URL(link).pathname.split('/').pop() ?? '';
  const response = await fetch(`${baseUrl}/api/v1/invites/${token}`);
  return ((await response.json()) as { status: string }).status;
}

/**
 * Follows the newest link containing `pathPart` in the development mailbox's mail to `to`, on this
 * server (links are built from PUBLIC_URL); answers the URL it opened.
 */
async function openMailboxLink(page: Page, baseUrl: string, to: string, pathPart = '/invite/'): Promise<string> {
  await page.goto(`${baseUrl}/mailbox`);
  await page.getByRole('heading', { name: 'Mailbox' }).waitFor();
  const href = await page.locator(`li[data-mail-to="${to}"] a[href*="${pathPart}"]`).first().getAttribute('href');
  expect(href).toBeTruthy();
  const target = new URL(href ?? '', baseUrl);
  const url = `${baseUrl}${target.pathname}${target.search}`;
  await page.goto(url);
  return url;
}

describe.runIf(shouldRunBrowserTests)('dashboard in the browser', () => {
  let server: ServerProcess;
  let database: SuiteDatabase;
  let browser: Browser;
  let owner: BrowserContext;
  let ownerPage: Page;
  const suffix = Date.now().toString(36);
  const ownerEmail = `owner-${suffix}@example.com`;
  const memberEmail = `mia-${suffix}@example.com`;
  const bulk = {
    ada: `ada-${suffix}@example.com`,
    grace: `grace-${suffix}@example.com`,
    linus: `linus-${suffix}@example.com`,
    invalid: 'not-an-address@',
  };

  beforeAll(async () => {
    ensureDashboardBuilt();
    database = await suiteDatabase('roster_browser');
    server = await startServerProcess({ env: database.env });
    browser = await launchBrowser();
    owner = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    ownerPage = await owner.newPage();
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await database?.drop();
  });

  it(
    'lets the owner sign up, check out Team and create the organization',
    async () => {
      const page = ownerPage;
      await page.goto(`${server.url}/signup`);
      await screenshot(page, '01-signup');
      await fill(page, 'Name', 'Olivia Owner');
      await fill(page, 'Email', ownerEmail);
      await fill(page, 'Password', PASSWORD);
      await page.getByRole('button', { name: 'Sign up' }).click();

      await page.getByText('Step 1 of 3').waitFor();
      await screenshot(page, '02-onboarding');
      await page.getByRole('button', { name: 'Skip for now' }).click();

      await page.getByRole('button', { name: 'Continue to checkout' }).waitFor();
      await fill(page, 'Seats', '10');
      await screenshot(page, '03-choose-plan');
      await page.getByRole('button', { name: 'Continue to checkout' }).click();
      // Checkout is confirmed first, with the seats and the monthly total.
      const checkout = page.getByRole('alertdialog', { name: 'Subscribe to the Team plan?' });
      await checkout.getByText('10 seats × $14.99 = $149.90 per month').waitFor();
      await checkout.getByRole('button', { name: 'Confirm and check out' }).click();

      await fill(page, 'Organization name', `Acme ${suffix}`);
      await expect.poll(() => page.getByLabel('Slug', { exact: true }).inputValue()).toBe(`acme-${suffix}`);
      await fill(page, 'Slug', 'A');
      await page.getByText('Use lowercase letters instead of capitals.').waitFor();
      await fill(page, 'Slug', `acme-${suffix}`);
      await screenshot(page, '04-create-org');
      await page.getByRole('button', { name: 'Create organization' }).click();

      await page.getByRole('heading', { name: 'Members' }).waitFor();
      await page.getByText('1 of 10 seats used — 1 member, 0 pending').waitFor();
      // The members table loads separately from the seat counter: wait for the owner's row.
      await row(page, ownerEmail).getByText('Owner', { exact: true }).waitFor();
      await expect(row(page, ownerEmail).getByText('Owner', { exact: true }).count()).resolves.toBe(1);
    },
    STEP_TIMEOUT,
  );

  it(
    'confirms the email address from the verification link only when the button is clicked',
    async () => {
      const page = ownerPage;
      await openMailboxLink(page, server.url, ownerEmail, '/verify-email');
      const confirm = page.getByRole('button', { name: 'Confirm my email address' });
      await confirm.waitFor();
      // Opening the link (mail scanners do) confirmed nothing.
      const before = await apiGet<{ user: { email_verified: boolean } }>(owner, server.url, '/api/v1/me');
      expect(before.user.email_verified).toBe(false);
      await confirm.click();
      await page.getByRole('heading', { name: 'Your email address is confirmed' }).waitFor();
      const after = await apiGet<{ user: { email_verified: boolean } }>(owner, server.url, '/api/v1/me');
      expect(after.user.email_verified).toBe(true);
      await page.getByRole('link', { name: 'Continue to the dashboard' }).click();
      await page.getByRole('heading', { name: 'Members' }).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'invites one member with the invite dialog',
    async () => {
      const page = ownerPage;
      await page.getByRole('button', { name: 'Invite member' }).click();
      const dialog = page.getByRole('dialog', { name: 'Invite member' });
      await dialog.getByLabel('Email').fill(memberEmail);
      await dialog.getByLabel('Role').selectOption('member');
      await screenshot(page, '05-invite-dialog');
      await dialog.getByRole('button', { name: 'Send invitation' }).click();

      await toast(page, `Invitation sent to ${memberEmail}`).waitFor();
      await row(page, memberEmail).getByText('Pending').waitFor();
      await page.getByText('2 of 10 seats used — 1 member, 1 pending').waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'bulk-invites a pasted block with duplicates and an invalid address',
    async () => {
      const page = ownerPage;
      await page.getByRole('button', { name: 'Bulk invite' }).click();
      const dialog = page.getByRole('dialog', { name: 'Bulk invite' });
      const pasted = [
        `Ada Lovelace <${bulk.ada}>, ${bulk.grace}`,
        `${bulk.grace.toUpperCase()}; ${bulk.linus}`,
        `please also add ${bulk.ada} and ${bulk.invalid}`,
      ].join('\n');
      await dialog.getByLabel('Addresses').fill(pasted);
      await dialog.getByRole('button', { name: 'Extract emails' }).click();

      const preview = dialog.getByRole('region', { name: 'Preview' });
      await preview.waitFor();
      await expect
        .poll(() => preview.getByTestId('bulk-preview-summary').innerText())
        .toMatch(/4 distinct addresses found · 3 ready to invite · 1 invalid/);
      await preview.getByText(bulk.invalid, { exact: true }).waitFor();
      await screenshot(page, '06-bulk-preview');
      // The preview is a dry run: the server still holds the one earlier invitation.
      const before = await apiGet<{ invites: Array<{ email: string }> }>(owner, server.url, '/api/v1/org/invites');
      expect(before.invites.map((invite) => invite.email)).toEqual([memberEmail]);

      await dialog.getByRole('button', { name: 'Send invitations' }).click();
      await toast(page, '3 invitations sent, 1 failed').waitFor();
      const results = dialog.getByRole('region', { name: 'Results' });
      await results.getByText('Invited (3)').waitFor();
      await results.getByText('Failed (1)').waitFor();
      for (const email of [bulk.ada, bulk.grace, bulk.linus, bulk.invalid]) {
        await results.getByText(email, { exact: true }).waitFor();
      }
      await screenshot(page, '07-bulk-results');
      await dialog.getByRole('button', { name: 'Done' }).click();
      await page.getByText('5 of 10 seats used — 1 member, 4 pending').waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'resends and revokes pending invitations from the row menu',
    async () => {
      const page = ownerPage;
      await openRowMenu(page, bulk.linus);
      await screenshot(page, '08-pending-row-menu');
      await page.getByRole('menuitem', { name: 'Resend' }).click();
      await toast(page, `Invitation resent to ${bulk.linus}`).waitFor();

      await openRowMenu(page, bulk.ada);
      await page.getByRole('menuitem', { name: 'Revoke' }).click();
      const confirm = page.getByRole('alertdialog', { name: `Revoke the invitation to ${bulk.ada}?` });
      await confirm.getByRole('button', { name: 'Revoke invitation' }).click();
      await toast(page, `Invitation to ${bulk.ada} revoked`).waitFor();
      await row(page, bulk.ada).waitFor({ state: 'detached' });
      await page.getByText('4 of 10 seats used — 1 member, 3 pending').waitFor();
      await screenshot(page, '09-members-with-pending');
    },
    STEP_TIMEOUT,
  );

  it(
    'shows each pending invitation link and copies it to the clipboard with a confirmation',
    async () => {
      const page = ownerPage;
      await owner.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      const { invites } = await apiGet<{ invites: Array<{ email: string; link: string }> }>(
        owner,
        server.url,
        '/api/v1/org/invites',
      );
      const link = invites.find((invite) => invite.email === bulk.linus)?.link ?? '';
      expect(link).toMatch(new RegExp(`^${server.url}/invite/`));
      const linusRow = row(page, bulk.linus);
      await linusRow.getByTestId('invite-link').getByText(link, { exact: true }).waitFor();

      await linusRow.getByRole('button', { name: `Copy link for ${bulk.linus}` }).click();
      await toast(page, `Invitation link for ${bulk.linus} copied`).waitFor();
      await linusRow.getByRole('button', { name: `Copied for ${bulk.linus}` }).waitFor();
      await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(link);
    },
    STEP_TIMEOUT,
  );

  it(
    'has no serious accessibility violations on the members page, with a success and an error toast on screen',
    async () => {
      const page = ownerPage;
      // A success toast from a real action.
      await openRowMenu(page, bulk.grace);
      await page.getByRole('menuitem', { name: 'Resend' }).click();
      await expectAccessibleWithToast(page, `Invitation resent to ${bulk.grace}`);

      // An error toast from a real conflict: another admin revoked the invitation meanwhile, so
      // resending it from this (now stale) table is refused with invite_not_found.
      const { invites } = await apiGet<{ invites: Array<{ id: string; email: string }> }>(
        owner,
        server.url,
        '/api/v1/org/invites',
      );
      const grace = invites.find((invite) => invite.email === bulk.grace);
      expect(grace).toBeDefined();
      await apiWrite(owner, server.url, 'DELETE', `/api/v1/org/invites/${grace?.id}`);
      await openRowMenu(page, bulk.grace);
      await page.getByRole('menuitem', { name: 'Resend' }).click();
      await expectAccessibleWithToast(page, 'This invitation is not valid');
      await screenshot(page, '09b-error-toast');
    },
    STEP_TIMEOUT,
  );

  it(
    'takes the invitee from the mailbox link through signup and onboarding into the app as a member',
    async () => {
      const invitee = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      try {
        const page = await invitee.newPage();
        await openMailboxLink(page, server.url, memberEmail);
        await page.getByText(`Acme ${suffix}`).first().waitFor();
        await page.getByText('Olivia Owner').first().waitFor();
        await screenshot(page, '10-invitation');
        await page.getByRole('link', { name: 'Sign up to accept' }).click();

        await expect.poll(() => page.getByLabel('Email', { exact: true }).inputValue()).toBe(memberEmail);
        await fill(page, 'Name', 'Mia');
        await fill(page, 'Password', PASSWORD);
        await page.getByRole('button', { name: 'Sign up' }).click();

        // Onboarding's first step renames the account: the owner sees the new name later.
        await page.getByText('Step 1 of 3').waitFor();
        await fill(page, 'Your name', 'Mia Member');
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.getByLabel('Engineering').check();
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.getByText('A quick tour of Roster').waitFor();
        await screenshot(page, '11-onboarding-tour');
        await page.getByRole('button', { name: 'Finish' }).click();

        await page.getByRole('heading', { name: 'Members' }).waitFor();
        await row(page, memberEmail).getByText('Mia Member').filter({ visible: true }).first().waitFor();
        // The controls follow the org reply: wait for it (the seat counter shows it) before checking absences.
        await page.getByTestId('seat-counter').waitFor();
        await screenshot(page, '12-member-view');
        await expect(page.getByRole('button', { name: 'Invite member' }).count()).resolves.toBe(0);
        await expect(page.getByRole('button', { name: 'Bulk invite' }).count()).resolves.toBe(0);
        await expect(page.getByRole('button', { name: /Actions for/ }).count()).resolves.toBe(0);
        await expect(page.getByRole('link', { name: 'Audit log' }).count()).resolves.toBe(0);
        await expect(page.getByText('Pending', { exact: true }).count()).resolves.toBe(0);
        await expect(page.getByRole('button', { name: /Copy link/ }).count()).resolves.toBe(0);
      } finally {
        await invitee.close();
      }
    },
    STEP_TIMEOUT,
  );

  it(
    'lets the owner set a usage limit and disable a user',
    async () => {
      const page = ownerPage;
      await page.reload();
      await row(page, memberEmail).getByText('Active').waitFor();
      await page.getByText(/no individual usage limit/).waitFor();

      await openRowMenu(page, memberEmail);
      await page.getByRole('menuitem', { name: 'Set usage limit' }).click();
      const limitDialog = page.getByRole('dialog', { name: 'Set usage limit' });
      await limitDialog.getByLabel('Daily limit').fill('100');
      await limitDialog.getByLabel('Monthly limit').fill('2000');
      await screenshot(page, '13-usage-limit');
      await limitDialog.getByRole('button', { name: 'Save limits' }).click();
      await toast(page, 'Usage limit saved').waitFor();

      await openRowMenu(page, memberEmail);
      await page.getByRole('menuitem', { name: 'Disable user' }).click();
      const confirm = page.getByRole('alertdialog');
      await confirm.getByText('This cannot be undone in the app').waitFor();
      await screenshot(page, '14-disable-confirm');
      await confirm.getByRole('button', { name: 'Disable user' }).click();
      await toast(page, 'has been disabled').waitFor();
      await row(page, memberEmail).getByText('Disabled').waitFor();
      await screenshot(page, '15-members-disabled');
    },
    STEP_TIMEOUT,
  );

  it(
    'shows usage and the audit log to the owner',
    async () => {
      const page = ownerPage;
      // The host app records usage through the API; the dashboard shows it per member and activity.
      await apiPost(owner, server.url, '/api/v1/usage', { activity: 'report.export', quantity: 7 });
      await apiPost(owner, server.url, '/api/v1/usage', { activity: 'api.call', quantity: 3 });
      await page.getByRole('link', { name: 'Usage' }).click();
      await page.getByRole('heading', { name: 'Usage', exact: true }).waitFor();
      await page.getByText('Your usage today').waitFor();
      const chart = page.getByRole('list', { name: 'Usage chart' });
      await chart.getByText('Olivia Owner').waitFor();
      await chart.getByText('10', { exact: true }).waitFor();
      await screenshot(page, '16-usage');
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      await page.locator('main li').first().waitFor();
      await screenshot(page, '17-audit-log');
    },
    STEP_TIMEOUT,
  );

  it(
    'fits a 375 px wide phone screen',
    async () => {
      const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, storageState: await owner.storageState() });
      try {
        const page = await phone.newPage();
        await page.goto(`${server.url}/settings/members`);
        await page.getByRole('heading', { name: 'Members' }).waitFor();
        await row(page, memberEmail).waitFor();
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).toBeLessThanOrEqual(0);
        // Each address is shown whole (wrapped, not cut to a few characters), so people are identifiable.
        const email = row(page, memberEmail).getByText(memberEmail, { exact: true });
        const cut = await email.evaluate((element) => element.scrollWidth - element.clientWidth);
        expect(cut).toBeLessThanOrEqual(0);
        await screenshot(page, '18-members-375px');
        // The usage table scrolls sideways on a phone, and says so.
        await page.goto(`${server.url}/settings/usage`);
        await page.getByTestId('usage-scroll-hint').waitFor();
        await screenshot(page, '18b-usage-375px');
      } finally {
        await phone.close();
      }
    },
    STEP_TIMEOUT,
  );
  const returning = { email: `ron-${suffix}@example.com`, name: 'Ron Returning' };
  const signedIn = { email: `sam-${suffix}@example.com`, name: 'Sam Signed-in' };

  it(
    'lets a user who already has an account log in from the invitation page and land in the org',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      try {
        await apiPost(context, server.url, '/api/v1/auth/signup', { ...returning, password: PASSWORD });
        await context.clearCookies();
        const { invite } = await apiPost<{ invite: { link: string } }>(owner, server.url, '/api/v1/org/invite', {
          email: returning.email,
          role: 'member',
        });
        const page = await context.newPage();
        const accepts = recordAccepts(page);
        await page.goto(`${server.url}${new URL(invite.link).pathname}`);
        await page.getByRole('link', { name: 'Log in to accept' }).click();
        await page.getByRole('heading', { name: 'Log in to Roster' }).waitFor();
        // Opening the link (a GET) accepted nothing.
        expect(accepts).toEqual([]);
        await expect(publicInviteStatus(server.url, invite.link)).resolves.toBe('pending');

        await expect.poll(() => page.getByLabel('Email', { exact: true }).inputValue()).toBe(returning.email);
        await fill(page, 'Password', PASSWORD);
        await page.getByRole('button', { name: 'Log in', exact: true }).click();
        // Back on the invitation, signed in: joining is one more click, never automatic.
        const join = page.getByRole('button', { name: `Join Acme ${suffix}` });
        await join.waitFor();
        expect(accepts).toEqual([]);
        await join.click();
        await page.getByRole('heading', { name: 'Members' }).waitFor();
        await row(page, returning.email).waitFor();
        expect(accepts).toEqual(['POST']);
        await expect(publicInviteStatus(server.url, invite.link)).resolves.toBe('accepted');
        const me = await apiGet<{ org: { slug: string; role: string } | null }>(context, server.url, '/api/v1/me');
        expect(me.org).toMatchObject({ slug: `acme-${suffix}`, role: 'member' });
        await screenshot(page, '21-existing-user-joined');
      } finally {
        await context.close();
      }
    },
    STEP_TIMEOUT,
  );

  it(
    'regression: shows a signed-in invited user the invitation and accepts it only on "Join" (a POST), then lands in the org',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      try {
        await apiPost(context, server.url, '/api/v1/auth/signup', { ...signedIn, password: PASSWORD });
        const { invite } = await apiPost<{ invite: { link: string } }>(owner, server.url, '/api/v1/org/invite', {
          email: signedIn.email,
          role: 'member',
        });
        const page = await context.newPage();
        const accepts = recordAccepts(page);
        await page.goto(`${server.url}${new URL(invite.link).pathname}`);
        const join = page.getByRole('button', { name: `Join Acme ${suffix}` });
        await join.waitFor();
        await page.getByText('Olivia Owner').first().waitFor();
        expect(accepts).toEqual([]);
        await expect(publicInviteStatus(server.url, invite.link)).resolves.toBe('pending');
        await join.click();
        await page.getByRole('heading', { name: 'Members' }).waitFor();
        await row(page, signedIn.email).waitFor();
        expect(accepts).toEqual(['POST']);
        const me = await apiGet<{ org: { slug: string; role: string } | null }>(context, server.url, '/api/v1/me');
        expect(me.org).toMatchObject({ slug: `acme-${suffix}`, role: 'member' });
      } finally {
        await context.close();
      }
    },
    STEP_TIMEOUT,
  );

  it(
    "shows a member's details in the View dialog",
    async () => {
      const page = ownerPage;
      await page.goto(`${server.url}/settings/members`);
      await openRowMenu(page, memberEmail);
      await page.getByRole('menuitem', { name: 'View' }).click();
      const dialog = page.getByRole('dialog', { name: 'Member details' });
      await dialog.getByText('Mia Member').waitFor();
      await dialog.getByText(memberEmail).waitFor();
      const detail = (term: string) => dialog.locator('dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');
      await expect.poll(() => detail('Role').innerText()).toBe('Member');
      await expect.poll(() => detail('Status').innerText()).toBe('Disabled');
      await expect.poll(() => detail('Daily usage limit').innerText()).toBe('100');
      await expect.poll(() => detail('Monthly usage limit').innerText()).toBe('2,000');
      await screenshot(page, '22-member-details');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
    },
    STEP_TIMEOUT,
  );

  it(
    'makes a member an admin from the row menu',
    async () => {
      const page = ownerPage;
      await openRowMenu(page, returning.email);
      await page.getByRole('menuitem', { name: 'Make admin' }).click();
      await toast(page, `${returning.name} is now an admin`).waitFor();
      await row(page, returning.email).getByText('Admin', { exact: true }).waitFor();
      const { members } = await apiGet<{ members: Array<{ email: string; role: string }> }>(
        owner,
        server.url,
        '/api/v1/org/members?q=ron-',
      );
      expect(members.find((member) => member.email === returning.email)?.role).toBe('admin');
    },
    STEP_TIMEOUT,
  );

  it(
    'renames the organization on the Organization page',
    async () => {
      const page = ownerPage;
      const newName = `Acme Renamed ${suffix}`;
      await page.getByRole('link', { name: 'Organization' }).click();
      await page.getByRole('heading', { name: 'Organization', exact: true }).waitFor();
      await expect.poll(() => page.getByLabel('Name', { exact: true }).inputValue()).toBe(`Acme ${suffix}`);
      await fill(page, 'Name', newName);
      await page.getByRole('button', { name: 'Save' }).click();
      await toast(page, 'Organization name saved').waitFor();
      await page.getByRole('complementary').getByText(newName).waitFor();
      await screenshot(page, '23-organization-renamed');
      const org = await apiGet<{ org: { name: string } }>(owner, server.url, '/api/v1/org');
      expect(org.org.name).toBe(newName);
      await page.reload();
      await expect.poll(() => page.getByLabel('Name', { exact: true }).inputValue()).toBe(newName);
    },
    STEP_TIMEOUT,
  );

  it(
    'transfers ownership to an admin, and the old owner becomes an admin',
    async () => {
      const page = ownerPage;
      await page.getByRole('link', { name: 'Members' }).click();
      await openRowMenu(page, returning.email);
      await page.getByRole('menuitem', { name: 'Transfer ownership' }).click();
      const confirm = page.getByRole('alertdialog');
      await confirm.getByText(`Transfer ownership to ${returning.name}?`).waitFor();
      await confirm.getByRole('button', { name: 'Transfer ownership' }).click();
      await toast(page, `${returning.name} is now the owner of Acme Renamed ${suffix}`).waitFor();
      await row(page, returning.email).getByText('Owner', { exact: true }).waitFor();
      await row(page, ownerEmail).getByText('Admin', { exact: true }).waitFor();
      const me = await apiGet<{ org: { role: string } | null }>(owner, server.url, '/api/v1/me');
      expect(me.org?.role).toBe('admin');
      // Only the owner may transfer ownership: the former owner no longer gets the item.
      await openRowMenu(page, signedIn.email);
      await page.getByRole('menuitem', { name: 'Make admin' }).waitFor();
      await expect(page.getByRole('menuitem', { name: 'Transfer ownership' }).count()).resolves.toBe(0);
      await page.keyboard.press('Escape');
      await screenshot(page, '24-ownership-transferred');
    },
    STEP_TIMEOUT,
  );

  it(
    'lets a user rename themselves, use and revoke an API token, and change their password on the Account page',
    async () => {
      const email = `alex-${suffix}@example.com`;
      const newPassword = 'a different passphrase 77';
      const viewport = { width: 1280, height: 860 };
      const context = await browser.newContext({ viewport });
      const elsewhere = await browser.newContext({ viewport });
      try {
        const page = await context.newPage();
        await page.goto(`${server.url}/signup`);
        await fill(page, 'Name', 'Alex Account');
        await fill(page, 'Email', email);
        await fill(page, 'Password', PASSWORD);
        await page.getByRole('button', { name: 'Sign up' }).click();
        await page.getByText('Step 1 of 3').waitFor();
        await page.getByRole('button', { name: 'Skip for now' }).click();
        await page.getByRole('button', { name: 'Continue to checkout' }).waitFor();
        // In no organization yet, the account page opens all the same (no detour to /create-org).
        await page.goto(`${server.url}/account`);
        await page.getByRole('heading', { name: 'Account', exact: true }).waitFor();
        expect(new URL(page.url()).pathname).toBe('/account');

        await apiPost(context, server.url, '/api/v1/billing/checkout', { plan: 'team', seats: 5, scope: 'personal' });
        await apiPost(context, server.url, '/api/v1/org', { name: `Tokens ${suffix}`, slug: `tokens-${suffix}` });
        await page.goto(`${server.url}/settings/members`);
        await page.getByRole('heading', { name: 'Members' }).waitFor();
        const shell = page.getByRole('complementary');
        await shell.getByRole('link', { name: 'Account' }).click();
        await page.getByRole('heading', { name: 'Account', exact: true }).waitFor();
        await expect.poll(() => page.getByLabel('Display name', { exact: true }).inputValue()).toBe('Alex Account');

        await fill(page, 'Display name', 'Alex Renamed');
        await page.getByRole('button', { name: 'Save name' }).click();
        await toast(page, 'Display name saved').waitFor();
        await shell.getByText('Alex Renamed').waitFor();

        // An API token: shown once, usable at once by a script, refused from the moment it is revoked.
        await page.getByRole('button', { name: 'Create token' }).click();
        const create = page.getByRole('dialog', { name: 'Create API token' });
        await create.getByLabel('Token name').fill('E2E script');
        await create.getByRole('button', { name: 'Create token' }).click();
        const shown = page.getByRole('dialog', { name: 'Copy your new API token' });
        await shown.getByText('It will not be shown again').waitFor();
        await shown.getByRole('button', { name: 'Copy token' }).waitFor();
        const token = await shown.getByLabel('API token').inputValue();
        expect(token).toMatch(/^rs_api_/);
        const meWithToken = () => fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
        const answer = await meWithToken();
        expect(answer.status).toBe(200);
        expect(((await answer.json()) as { user: { email: string; name: string } }).user).toMatchObject({
          email,
          name: 'Alex Renamed',
        });
        await screenshot(page, '25-api-token-shown-once');
        await shown.getByRole('button', { name: 'Done' }).click();
        await shown.waitFor({ state: 'detached' });
        const tokens = page.getByRole('table', { name: 'API tokens' });
        await tokens.getByText('E2E script').waitFor();
        await expect(page.getByText(token).count()).resolves.toBe(0);
        const scan = await axeScan(page);
        expect(scan.violations, JSON.stringify(scan.violations, null, 2)).toEqual([]);
        await tokens.getByRole('button', { name: 'Revoke E2E script' }).click();
        const confirm = page.getByRole('alertdialog', { name: 'Revoke the API token E2E script?' });
        await confirm.getByRole('button', { name: 'Revoke token' }).click();
        await toast(page, 'API token E2E script revoked').waitFor();
        await page.getByText('No API tokens yet').waitFor();
        expect((await meWithToken()).status).toBe(401);

        // Another session of the same account, signed in elsewhere: the password change ends it.
        await apiPost(elsewhere, server.url, '/api/v1/auth/login', { email, password: PASSWORD });
        expect((await elsewhere.request.get(`${server.url}/api/v1/me`)).status()).toBe(200);

        await fill(page, 'Current password', 'not my password at all');
        await fill(page, 'New password', newPassword);
        await fill(page, 'Confirm new password', newPassword);
        await page.getByRole('button', { name: 'Change password' }).click();
        await page.getByText('Your current password is not right.').waitFor();
        await expect(page.getByLabel('Current password', { exact: true }).getAttribute('aria-invalid')).resolves.toBe('true');

        await fill(page, 'Current password', PASSWORD);
        await page.getByRole('button', { name: 'Change password' }).click();
        await page.getByRole('status').filter({ hasText: 'Your password was changed' }).waitFor();
        await page.getByText('every other session of your account was signed out').waitFor();
        await expect(page.getByLabel('New password', { exact: true }).inputValue()).resolves.toBe('');
        await screenshot(page, '26-password-changed');
        expect((await elsewhere.request.get(`${server.url}/api/v1/me`)).status()).toBe(401);
        await expect(apiGet(context, server.url, '/api/v1/me')).resolves.toMatchObject({ user: { email } });

        await shell.getByRole('button', { name: 'Log out' }).click();
        await page.getByRole('heading', { name: 'Log in to Roster' }).waitFor();
        await fill(page, 'Email', email);
        await fill(page, 'Password', PASSWORD);
        await page.getByRole('button', { name: 'Log in', exact: true }).click();
        await page.getByText('That email and password do not match an account.').waitFor();
        await fill(page, 'Password', newPassword);
        await page.getByRole('button', { name: 'Log in', exact: true }).click();
        await page.getByRole('heading', { name: 'Members' }).waitFor();
        await shell.getByText('Alex Renamed').waitFor();
      } finally {
        await elsewhere.close();
        await context.close();
      }
    },
    STEP_TIMEOUT,
  );
});

describe.runIf(shouldRunBrowserTests)('invitation links that can no longer be used', () => {
  let server: ServerProcess;
  let database: SuiteDatabase;
  let browser: Browser;

  beforeAll(async () => {
    ensureDashboardBuilt();
    database = await suiteDatabase('roster_browser');
    server = await startServerProcess({ env: { ...database.env, INVITE_TTL_SECONDS: '1' } });
    browser = await launchBrowser();
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await database?.drop();
  });

  it(
    'shows the expired message for an expired link',
    async () => {
      const admin = await browser.newContext();
      const suffix = Date.now().toString(36);
      await apiPost(admin, server.url, '/api/v1/auth/signup', {
        email: `expiry-owner-${suffix}@example.com`,
        password: PASSWORD,
        name: 'Eve Owner',
      });
      await apiPost(admin, server.url, '/api/v1/billing/checkout', { plan: 'team', seats: 5, scope: 'personal' });
      await apiPost(admin, server.url, '/api/v1/org', { name: `Expiry ${suffix}`, slug: `expiry-${suffix}` });
      const { invite } = await apiPost<{ invite: { link: string } }>(admin, server.url, '/api/v1/org/invite', {
        email: `late-${suffix}@example.com`,
        role: 'member',
      });
      await admin.close();
      // Wait for the server to call it expired (INVITE_TTL_SECONDS=1), not for a fixed time.
      const token = new URL(invite.link).pathname.split('/').pop() ?? '';
      const publicInviteStatus = async () => {
        const response = await fetch(`${server.url}/api/v1/invites/${token}`);
        return ((await response.json()) as { status: string }).status;
      };
      await expect.poll(publicInviteStatus, { timeout: 15_000 }).toBe('expired');

      const visitor = await browser.newContext();
      try {
        const page = await visitor.newPage();
        await page.goto(`${server.url}${new URL(invite.link).pathname}`);
        await page.getByText('This invitation has expired — ask your admin to resend it').waitFor();
        await screenshot(page, '19-invite-expired');

        await page.goto(`${server.url}/invite/this-token-does-not-exist`);
        await page.getByText('This invitation link is not valid').waitFor();
        await screenshot(page, '20-invite-unknown');
      } finally {
        await visitor.close();
      }
    },
    STEP_TIMEOUT,
  );
  it(
    'resets a forgotten password from the sign-in page through the emailed link, and signs in with it',
    async () => {
      const email = `forgetful-${Date.now().toString(36)}@example.com`;
      const setup = await browser.newContext();
      await apiPost(setup, server.url, '/api/v1/auth/signup', { email, password: PASSWORD, name: 'Fay Forgetful' });
      await setup.close();
      const visitor = await browser.newContext();
      try {
        const page = await visitor.newPage();
        await page.goto(`${server.url}/login`);
        await fill(page, 'Email', email);
        await page.getByRole('link', { name: 'Forgot your password?' }).click();
        await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
        await expect(page.getByLabel('Email', { exact: true }).inputValue()).resolves.toBe(email);
        await page.getByRole('button', { name: 'Send reset link' }).click();
        await page.getByRole('heading', { name: 'Check your email' }).waitFor();

        const resetLink = await openMailboxLink(page, server.url, email, '/reset-password');
        await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
        await fill(page, 'New password', 'a brand new passphrase 42');
        await page.getByRole('button', { name: 'Set new password' }).click();
        await page.waitForURL((url) => !url.pathname.startsWith('/reset-password'));
        const me = await apiGet<{ user: { email: string; email_verified: boolean } }>(visitor, server.url, '/api/v1/me');
        expect(me.user).toMatchObject({ email, email_verified: true });

        // The link worked once.
        await page.goto(resetLink);
        await fill(page, 'New password', 'another new passphrase 43');
        await page.getByRole('button', { name: 'Set new password' }).click();
        await page.getByRole('heading', { name: 'This reset link is not valid' }).waitFor();
      } finally {
        await visitor.close();
      }
    },
    STEP_TIMEOUT,
  );
});
