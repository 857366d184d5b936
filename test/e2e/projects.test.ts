// Projects in the browser: Debian's Chromium against the real server on PGlite. An owner creates a
// project and builds its team from the Team tab; the member added sees it read-only as a viewer,
// then editable once promoted. The controls come only from the permissions the server sends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { suiteDatabase, type SuiteDatabase } from '../kit/postgres.ts';
import { startServerProcess, type ServerProcess } from '../kit/server.ts';
import {
  ensureDashboardBuilt,
  launchBrowser,
  orgWithMember,
  screenshot,
  seriousAxeViolations,
  shouldRunBrowserTests,
} from './browser.ts';

const STEP_TIMEOUT = 60_000;
const SETUP_TIMEOUT = 240_000;
const VIEWER_REASON = 'You are a viewer of this project: only editors and admins can change it.';

function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('[data-sonner-toast]', { hasText: text });
}

function teamRow(page: Page, email: string): Locator {
  return page.getByRole('table', { name: 'Project members' }).locator('tbody tr', { hasText: email });
}

function editorSwitch(page: Page, email: string, checked: boolean): Locator {
  return page.locator(`[role="switch"][aria-label="Editor: ${email}"][aria-checked="${String(checked)}"]`);
}

describe.runIf(shouldRunBrowserTests)('projects in the browser', () => {
  let server: ServerProcess;
  let database: SuiteDatabase;
  let browser: Browser;
  let owner: BrowserContext;
  let member: BrowserContext;
  let ownerPage: Page;
  let memberPage: Page;
  let projectPath = '';
  const suffix = Date.now().toString(36);
  const ownerEmail = `pat-owner-${suffix}@example.com`;
  const memberEmail = `vera-${suffix}@example.com`;
  const projectName = `Apollo ${suffix}`;

  beforeAll(async () => {
    ensureDashboardBuilt();
    database = await suiteDatabase('roster_browser');
    server = await startServerProcess({ env: database.env });
    browser = await launchBrowser();

    // The organization and its second member come from the API: the UI for them has its own test.
    ({ owner, member } = await orgWithMember(browser, server.url, {
      owner: { email: ownerEmail, name: 'Pat Owner' },
      member: { email: memberEmail, name: 'Vera Viewer' },
      org: { name: `Projects ${suffix}`, slug: `projects-${suffix}` },
    }));

    ownerPage = await owner.newPage();
    memberPage = await member.newPage();
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await database?.drop();
  });

  it(
    'lets the owner create a project from the Projects page',
    async () => {
      const page = ownerPage;
      await page.goto(`${server.url}/settings/members`);
      await page.getByRole('link', { name: 'Projects' }).click();
      await page.getByRole('heading', { name: 'Projects', exact: true }).waitFor();
      await page.getByText('No projects yet').waitFor();
      await screenshot(page, 'projects-01-empty');

      await page.getByRole('button', { name: 'New project' }).click();
      const dialog = page.getByRole('dialog', { name: 'New project' });
      await dialog.getByLabel('Name', { exact: true }).fill(projectName);
      await dialog.getByLabel('Description (optional)').fill('Fly to the moon and back');
      await screenshot(page, 'projects-02-new-project');
      await dialog.getByRole('button', { name: 'Create project' }).click();

      await toast(page, `Project ${projectName} created`).waitFor();
      await page.waitForURL(/\/projects\/[^/?]+$/);
      projectPath = new URL(page.url()).pathname;
      await page.getByRole('heading', { name: projectName }).waitFor();
      await expect(page.getByLabel('Name', { exact: true }).getAttribute('readonly')).resolves.toBeNull();
      await page.getByRole('button', { name: 'Delete project' }).waitFor();
      await screenshot(page, 'projects-03-settings-editor');
    },
    STEP_TIMEOUT,
  );

  it(
    'adds an org member as a viewer from the Team tab',
    async () => {
      const page = ownerPage;
      await page.getByRole('tab', { name: 'Team' }).click();
      await teamRow(page, ownerEmail).waitFor();

      await page.getByRole('button', { name: 'Add member' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add member' });
      await expect(dialog.getByRole('switch', { name: 'Editor' }).getAttribute('aria-checked')).resolves.toBe('false');
      await dialog.getByLabel('Search organization members').fill(`vera-${suffix}`);
      const add = dialog.getByRole('button', { name: `Add ${memberEmail}` });
      await add.waitFor();
      await screenshot(page, 'projects-04-add-member');
      await add.click();

      await toast(page, `added to ${projectName} as a viewer`).waitFor();
      await editorSwitch(page, memberEmail, false).waitFor();
      await screenshot(page, 'projects-05-team');
    },
    STEP_TIMEOUT,
  );

  it(
    'has no serious accessibility violations on the Team tab',
    async () => {
      const violations = await seriousAxeViolations(ownerPage);
      expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    },
    STEP_TIMEOUT,
  );

  it(
    'shows the viewer read-only settings with the reason, and no team controls',
    async () => {
      const page = memberPage;
      await page.goto(`${server.url}/projects`);
      const link = page.getByRole('link', { name: new RegExp(projectName) });
      await link.getByText('Viewer', { exact: true }).waitFor();
      // Any active member may create projects (contract): the viewer of this one sees the button too.
      await expect(page.getByRole('button', { name: 'New project' }).count()).resolves.toBe(1);
      await link.click();

      await page.getByRole('heading', { name: projectName }).waitFor();
      await page.getByText(VIEWER_REASON).waitFor();
      await expect(page.getByLabel('Name', { exact: true }).getAttribute('readonly')).resolves.not.toBeNull();
      await expect(page.getByLabel('Settings (JSON)').getAttribute('readonly')).resolves.not.toBeNull();
      await expect(page.getByRole('button', { name: 'Save changes' }).count()).resolves.toBe(0);
      await expect(page.getByRole('button', { name: 'Delete project' }).count()).resolves.toBe(0);
      await screenshot(page, 'projects-06-viewer-settings');
      const violations = await seriousAxeViolations(page);
      expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);

      await page.getByRole('tab', { name: 'Team' }).click();
      await teamRow(page, memberEmail).getByText('Viewer', { exact: true }).waitFor();
      await expect(page.getByRole('switch').count()).resolves.toBe(0);
      await expect(page.getByRole('button', { name: 'Add member' }).count()).resolves.toBe(0);
      await expect(page.getByRole('button', { name: /^Remove / }).count()).resolves.toBe(0);
      await screenshot(page, 'projects-07-viewer-team');
    },
    STEP_TIMEOUT,
  );

  it(
    'lets the owner promote the viewer to editor, who can then edit',
    async () => {
      const page = ownerPage;
      await editorSwitch(page, memberEmail, false).click();
      await toast(page, 'is now an editor').waitFor();
      await editorSwitch(page, memberEmail, true).waitFor();

      await memberPage.goto(`${server.url}${projectPath}`);
      await memberPage.getByRole('heading', { name: projectName }).waitFor();
      await memberPage.getByRole('button', { name: 'Save changes' }).waitFor();
      await expect(memberPage.getByText(VIEWER_REASON).count()).resolves.toBe(0);
      await expect(memberPage.getByLabel('Settings (JSON)').getAttribute('readonly')).resolves.toBeNull();
      await screenshot(memberPage, 'projects-08-promoted-editor');
    },
    STEP_TIMEOUT,
  );

  it(
    'fits a 375 px wide phone screen',
    async () => {
      const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, storageState: await owner.storageState() });
      try {
        const page = await phone.newPage();
        for (const path of ['/projects', projectPath, `${projectPath}?tab=team`]) {
          await page.goto(`${server.url}${path}`);
          await page.getByRole('heading', { name: path === '/projects' ? 'Projects' : projectName, exact: true }).waitFor();
          if (path.endsWith('tab=team')) await teamRow(page, memberEmail).waitFor();
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          expect(overflow, `horizontal overflow on ${path}`).toBeLessThanOrEqual(0);
        }
        await screenshot(page, 'projects-09-team-375px');
      } finally {
        await phone.close();
      }
    },
    STEP_TIMEOUT,
  );
});
