// Browser helpers for the dashboard's end-to-end tests: Debian's Chromium driven by
// playwright-core (no browser download), screenshots for review, and axe-core checks.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureDashboardBuilt as buildDashboardIfStale } from '../../src/cli/dashboard-build.ts';
import { PASSWORD } from '../kit/given.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(REPO, 'web');
export const SCREENSHOT_DIR = join(REPO, 'test', 'e2e', 'screenshots');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const isCI = process.env.CI === 'true';

/** Browser tests run when Chromium is installed; in CI a missing Chromium is a failure, not a skip. */
export const shouldRunBrowserTests = existsSync(CHROMIUM_PATH) || isCI;

/**
 * Launches Chromium for a test file. The server's Content-Security-Policy is on in every browser
 * test: each page's console is watched for CSP refusals, and closing the browser fails the test
 * file when the dashboard broke its own policy (an inline script, a foreign origin).
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium).`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const violations: string[] = [];
  const watch = (context: BrowserContext) => {
    context.on('console', (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text()))
        violations.push(`${message.page()?.url() ?? ''}: ${message.text()}`);
    });
    return context;
  };
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => watch(await newContext(options));
  const close = browser.close.bind(browser);
  browser.close = async (options) => {
    await close(options);
    if (violations.length > 0) throw new Error(`Content-Security-Policy violations:\n${violations.join('\n')}`);
  };
  return browser;
}

/** The server serves web/dist: build it first when it is missing or older than its sources. */
export function ensureDashboardBuilt(): void {
  buildDashboardIfStale(() => {});
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

export interface AxeScan {
  /** The serious and critical violations. */
  violations: AxeViolation[];
  /** The HTML of every element whose colour contrast axe measured (passed or violated). */
  contrastChecked: string[];
  /** The HTML of elements whose contrast axe could not decide (for example text under another element). */
  contrastUndecided: string[];
}

/** Runs axe-core (from web/node_modules) over the whole page. */
export async function axeScan(page: Page): Promise<AxeScan> {
  const source = readFileSync(join(WEB, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: an injected <script> tag would be (rightly) refused by the CSP.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(source);
  // Colours in the middle of a transition (a toast fading in) are not the page's: axe blends them
  // and measures a contrast no user sees once it has settled. Scan when every finite animation and
  // transition has finished (a spinner's infinite one does not count).
  await page.waitForFunction(() =>
    document
      .getAnimations()
      .every((animation) => animation.playState !== 'running' || animation.effect?.getComputedTiming().endTime === Infinity),
  );
  const scan = await page.evaluate(async () => {
    interface AxeNode {
      target: string[];
      html: string;
      failureSummary?: string;
    }
    interface AxeRule {
      id: string;
      impact: string | null;
      help: string;
      nodes: AxeNode[];
    }
    type AxeResults = { violations: AxeRule[]; passes: AxeRule[]; incomplete: AxeRule[] };
    const axe = (window as unknown as { axe: { run: (context: Document) => Promise<AxeResults> } }).axe;
    const result = await axe.run(document);
    const contrast = [...result.passes, ...result.violations].filter((rule) => rule.id === 'color-contrast');
    return {
      violations: result.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        nodes: violation.nodes.map((node) => ({ target: node.target, failureSummary: node.failureSummary })),
      })),
      contrastChecked: contrast.flatMap((rule) => rule.nodes.map((node) => node.html)),
      contrastUndecided: result.incomplete
        .filter((rule) => rule.id === 'color-contrast')
        .flatMap((rule) => rule.nodes.map((node) => node.html)),
    };
  });
  return {
    violations: scan.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical'),
    contrastChecked: scan.contrastChecked,
    contrastUndecided: scan.contrastUndecided,
  };
}

/** The serious and critical axe violations of the page. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  return (await axeScan(page)).violations;
}

/** A state-changing API call made with the browser context's session cookie and CSRF token. */
export async function apiPost<T>(context: BrowserContext, baseUrl: string, path: string, body: unknown = {}): Promise<T> {
  return apiWrite<T>(context, baseUrl, 'POST', path, body);
}

export async function apiWrite<T>(
  context: BrowserContext,
  baseUrl: string,
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body: unknown = {},
): Promise<T> {
  const cookies = await context.cookies(baseUrl);
  const csrf = cookies.find((cookie) => cookie.name === 'roster_csrf')?.value;
  const response = await context.request.fetch(`${baseUrl}${path}`, {
    method,
    data: body,
    headers: { 'Content-Type': 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) },
  });
  const text = await response.text();
  if (!response.ok()) throw new Error(`${method} ${path} answered ${response.status()}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A read with the browser context's session cookie. */
export async function apiGet<T>(context: BrowserContext, baseUrl: string, path: string): Promise<T> {
  const response = await context.request.get(`${baseUrl}${path}`);
  const text = await response.text();
  if (!response.ok()) throw new Error(`GET ${path} answered ${response.status()}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * An owner with a Team organization and a member who joined through an invitation, made through
 * the API for tests whose subject is another screen (signing up and inviting have their own tests).
 */
export async function orgWithMember(
  browser: Browser,
  baseUrl: string,
  input: { owner: { email: string; name: string }; member: { email: string; name: string }; org: { name: string; slug: string } },
): Promise<{ owner: BrowserContext; member: BrowserContext }> {
  const viewport = { width: 1280, height: 860 };
  const owner = await browser.newContext({ viewport });
  await apiPost(owner, baseUrl, '/api/v1/auth/signup', { ...input.owner, password: PASSWORD });
  await apiPost(owner, baseUrl, '/api/v1/billing/checkout', { plan: 'team', seats: 5, scope: 'personal' });
  await apiPost(owner, baseUrl, '/api/v1/org', input.org);
  const { invite } = await apiPost<{ invite: { link: string } }>(owner, baseUrl, '/api/v1/org/invite', {
    email: input.member.email,
    role: 'member',
  });
  const member = await browser.newContext({ viewport });
  await apiPost(member, baseUrl, '/api/v1/auth/signup', {
    ...input.member,
    password: PASSWORD,
    invite_token: new URL(invite.link).pathname.split('/').pop() ?? '',
  });
  return { owner, member };
}
