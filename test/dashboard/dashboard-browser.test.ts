/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a
 * real `serve` on the demo's database: the findings on the overview lead to the VM, a
 * kind filter changes the table and the URL, the VM's report downloads and verifies, a
 * denial shows its raw records, a denial
 * appended to the followed log appears live and the page resumes after serve restarts, a
 * wrong token gets a clear message; no console error, no request to another origin.
 * Screenshots of each view go to $SVIRT_AUDIT_SCREENSHOTS (default: a temporary directory,
 * printed).
 */

import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../api/tokens.js';
import { cli } from '../helpers/cli-run.js';
import { chromiumUnavailable, launchChromium, watchedPage } from '../helpers/chromium.js';
import { type DemoDatabase, demoDatabase } from '../helpers/demo-database.js';
import { type ServeProcess, startServe } from '../helpers/serve-process.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const require = createRequire(import.meta.url);
const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipped: ${unavailable}`);

const screenshots = process.env.SVIRT_AUDIT_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'svirt-audit-dashboard-'));
let demo: DemoDatabase;
let open: ServeProcess;
let guarded: ServeProcess;
let token = '';
const scratch = tempDir();
let browser: Browser;

beforeAll(async () => {
  if (unavailable) return;
  demo = await demoDatabase();
  open = await startServe(['--db', demo.db, '--no-follow']);
  // The same database behind a token file.
  const db = join(scratch.dir, 'guarded.db');
  copyFileSync(demo.db, db);
  token = createToken(join(scratch.dir, 'tokens'), 'reader', 'test');
  guarded = await startServe(['--db', db, '--no-follow']);
  browser = await launchChromium();
  mkdirSync(screenshots, { recursive: true });
  console.log(`dashboard screenshots: ${screenshots}`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await open?.stop();
  await guarded?.stop();
  demo?.cleanup();
  scratch.cleanup();
});

/** A page that records console errors and requests, failing a step within the test's own time. */
async function watchedDashboardPage(): Promise<Awaited<ReturnType<typeof watchedPage>>> {
  const watched = await watchedPage(browser);
  // Fail within the test's own time, with the step that failed, rather than at the test timeout.
  watched.page.setDefaultTimeout(8000);
  return watched;
}

/** axe-core's serious and critical findings on the page as it is now (run under the page's own CSP). */
async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[] }> };
      }
    ).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

describe.runIf(!unavailable)('the dashboard in chromium', () => {
  it("shows the cross-VM finding first; it leads to the VM's label history; a kind filter changes the table and the URL; a denial shows its raw records", async () => {
    const { page, errors, requests } = await watchedDashboardPage();
    await page.goto(`${open.base}/`);
    const findings = page.locator('table', { hasText: 'Cross-VM denials' });
    await expect.poll(() => findings.locator('tbody tr').count()).toBeGreaterThan(0);
    const first = findings.locator('tbody tr').first();
    const hostRows = page.locator('table', { hasText: "Each host's confinement" }).locator('tbody tr');
    await expect
      .poll(() => hostRows.allInnerTexts())
      .toContainEqual(expect.stringMatching(/^hv1\s+no MAC_STATUS record/));
    await expect
      .poll(() => page.locator('figure.chart figcaption').first().innerText())
      .toMatch(/^17 denials from .* 30 minutes a bar/);
    expect(await first.innerText()).toMatch(/cross-vm\s+web1\s+read write file\s+\S*db1\.qcow2\s+db1/);
    await page.screenshot({ path: join(screenshots, 'overview.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'overview.png').toEqual([]);

    await first.getByRole('link', { name: 'web1' }).click();
    await page.waitForURL(/#\/vms\/web1$/);
    const labels = page.locator('table', { hasText: 'Which label it held' });
    await expect.poll(() => labels.innerText()).toMatch(/hv1\s+system_u:system_r:svirt_t:s0:c101,c202/);
    // Its findings grouped, each with what explain says of it.
    const findingGroups = page.locator('ol.findings > li');
    await expect
      .poll(() => findingGroups.first().innerText())
      .toMatch(/^cross-vm: 3 × read write file on VM db1, [^]*sVirt refused it[^]*Check VM web1's definition/);
    await page.screenshot({ path: join(screenshots, 'vm.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'vm.png').toEqual([]);

    // The incident report, downloaded with the session's token, verifies.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'HTML' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('web1-report.html');
    const report = join(scratch.dir, 'web1-report.html');
    await download.saveAs(report);
    const verified = await cli(['report', 'verify', report]);
    expect(verified.stdout, verified.stderr).toMatch(/^ok: .*is unaltered \(html;/);

    // db1's timeline marks the relabel of its NFS disk that failed.
    await page.goto(`${open.base}/#/vms/db1`);
    const failedRelabel = page.getByRole('img', {
      name: /^relabel of \/srv\/nfs\/db1-data\.img at .*: failed, Operation not supported$/,
    });
    await expect.poll(() => failedRelabel.count()).toBe(1);
    expect(await page.locator('figure.chart figcaption').first().innerText()).toMatch(
      /1 allocation on 1 host; ticks are relabels, 1 failed \(red\)/,
    );
    await page.screenshot({ path: join(screenshots, 'vm-timeline.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'vm-timeline.png').toEqual([]);

    // build has denials of two kinds: the filter keeps one, in the table and in the URL.
    await page.goto(`${open.base}/#/vms/build`);
    const table = page.locator('table', { hasText: 'Denials of build' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(3);
    await page.getByLabel(/^Kind/).selectOption('shared-resource');
    await page.waitForURL(/#\/vms\/build\?kind=shared-resource$/);
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    expect(await table.locator('tbody').innerText()).toMatch(/shared-resource/);
    await page.screenshot({ path: join(screenshots, 'vm-filtered.png'), fullPage: true });

    // The chart over time: a bar narrows the table to its time range, kept in the URL.
    const bars = page.getByRole('group', { name: 'Denials of build over time by kind' }).getByRole('link');
    await expect.poll(() => bars.count()).toBeGreaterThan(0);
    expect(await bars.first().getAttribute('aria-label')).toMatch(/: 1 shared-resource/);
    await bars.first().click();
    await page.waitForURL(/#\/vms\/build\?kind=shared-resource&since=[^&]+&until=[^&]+$/);
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    expect(await accessibilityProblems(page), 'vm-filtered.png').toEqual([]);

    // The link opens the denial as explain tells it, with the kernel's records.
    await table.locator('tbody tr a').first().click();
    await page.waitForURL(/#\/denials\/\d+$/);
    const raw = page.getByLabel("The kernel's audit records of this denial");
    await expect.poll(() => raw.innerText()).toMatch(/^type=AVC msg=audit\(/);
    expect(await page.locator('h1').innerText()).toMatch(/shared-resource/);
    await page.screenshot({ path: join(screenshots, 'denial.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'denial.png').toEqual([]);

    await page.goto(`${open.base}/#/vms?q=web`);
    const vms = page.locator('table', { hasText: 'VMs' });
    await expect.poll(() => vms.locator('tbody tr').count()).toBe(3);
    expect(await vms.locator('tbody tr td:first-child').allInnerTexts()).toEqual(['web1', 'web1-old', 'web2']);
    expect(await vms.locator('caption').innerText()).toBe('3 of 7 VMs');
    await expect.poll(() => vms.locator('tbody tr').first().innerText()).toMatch(/\b3 cross-vm\b/);
    await page.screenshot({ path: join(screenshots, 'vms.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'vms.png').toEqual([]);

    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith(open.base))).toEqual([]);
  });

  it('works from the keyboard: Tab reaches a finding, Enter opens its VM, the kind filter changes by arrow keys; the dark theme passes the same accessibility check', async () => {
    const { page, errors } = await watchedDashboardPage();
    await page.goto(`${open.base}/`);
    await page.locator('table', { hasText: 'Cross-VM denials' }).locator('tbody tr').first().waitFor();
    const focused = () =>
      page
        .locator(':focus')
        .innerText()
        .catch(() => '');
    let presses = 0;
    while ((await focused()) !== 'web1' && presses++ < 60) await page.keyboard.press('Tab');
    expect(await focused()).toBe('web1');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/vms\/web1$/);
    await page.locator('table', { hasText: 'Denials of web1' }).locator('tbody tr').first().waitFor();
    await page.getByLabel(/^Kind/).focus();
    await page.keyboard.press('ArrowDown');
    await page.waitForURL(/#\/vms\/web1\?kind=cross-vm$/);

    // A link cut in the middle of an escape still opens a page that says what is wrong.
    await page.goto(`${open.base}/#/vms/%E0%A4%A`);
    await expect.poll(() => page.getByRole('alert').first().innerText()).toMatch(/^Could not load the VM: no VM named/);

    // The dark theme (the browser's preference) is as readable as the light one.
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const view of ['/', '/#/vms', '/#/vms/db1', '/#/denials/1']) {
      await page.goto(`${open.base}${view}`);
      await page.locator('main table, main pre').first().waitFor();
      expect(await accessibilityProblems(page), `dark ${view}`).toEqual([]);
    }
    await page.goto(`${open.base}/`);
    await page.locator('table', { hasText: 'Cross-VM denials' }).locator('tbody tr').first().waitFor();
    await page.screenshot({ path: join(screenshots, 'overview-dark.png'), fullPage: true });
    // The API's 404s for the VM that is not there (the page said so); nothing else.
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });

  it('a denial appended to the followed log appears within 2 s; after serve restarts, the page resumes with nothing missed or shown twice', async () => {
    // A directory of its own: no token file beside the database (the API is open).
    const dir = join(scratch.dir, 'live');
    mkdirSync(dir);
    const log = join(dir, 'audit.log');
    writeFileSync(log, '');
    const db = join(dir, 'live.db');
    copyFileSync(demo.db, db);
    // --keep: the synthetic events are from 2025, older than the default 90 days.
    const args = ['--db', db, '--follow', log, '--keep', '36500d'];
    let live = await startServe(args);
    const listen = live.base.replace('http://', '');
    try {
      const { page, errors } = await watchedDashboardPage();
      await page.goto(`${live.base}/`);
      const badge = page.getByRole('status');
      await expect.poll(() => badge.innerText()).toBe('live');
      const newest = page.locator('table', { hasText: 'The newest denials' });
      const appended = Date.now();
      appendFileSync(log, eventsText(1, 1));
      await expect
        .poll(() => newest.locator('tbody tr').first().innerText(), { timeout: 2000 })
        .toMatch(/disk1\.qcow2/);
      console.log(`dashboard: the appended denial was on the page ${Date.now() - appended} ms after the append`);

      await live.stop();
      await expect.poll(() => badge.innerText()).toBe('reconnecting…');
      // Stored while the page cannot hear: the restarted serve reads them, the page resumes from its last id.
      appendFileSync(log, eventsText(2, 3));
      live = await startServe(args, listen);
      await expect.poll(() => badge.innerText(), { timeout: 10_000 }).toBe('live');
      await expect.poll(() => newest.innerText(), { timeout: 10_000 }).toMatch(/disk3\.qcow2/);
      const rows = await newest.locator('tbody tr').allInnerTexts();
      for (const n of [1, 2, 3]) expect(rows.filter((r) => r.includes(`disk${n}.qcow2`))).toHaveLength(1);
      expect(rows.slice(0, 3).map((r) => /disk(\d)\.qcow2/.exec(r)?.[1])).toEqual(['3', '2', '1']);
      await page.screenshot({ path: join(screenshots, 'overview-live.png'), fullPage: true });
      // The stream cut when serve stopped, a reconnect answered 503 while it was closing, the
      // reconnects while it was down; nothing else.
      expect(
        errors.filter((e) => !/ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_CONNECTION_REFUSED|status of 503/.test(e)),
      ).toEqual([]);
    } finally {
      await live.stop();
    }
  });

  it('asks for a reader token where the API needs one: a wrong one is refused with a clear message, the right one opens the overview', async () => {
    const { page, errors } = await watchedDashboardPage();
    await page.goto(`${guarded.base}/`);
    await expect.poll(() => page.getByRole('alert').first().innerText()).toMatch(/needs a reader token/);
    await page.getByLabel('Reader token').first().fill('not-the-token');
    await page.getByRole('button', { name: 'Use this token' }).first().click();
    await expect.poll(() => page.getByRole('alert').first().innerText()).toMatch(/refused the token/);
    await page.screenshot({ path: join(screenshots, 'token-refused.png'), fullPage: true });
    await page.getByLabel('Reader token').first().fill(token);
    await page.getByRole('button', { name: 'Use this token' }).first().click();
    await expect.poll(() => page.locator('table', { hasText: 'Cross-VM denials' }).count()).toBe(1);
    // The browser's own 401s are what the page answered; nothing else went wrong.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
