/**
 * The HTML report in a real headless browser (Debian's chromium, driven by
 * playwright-core): it renders with no console errors and no network fetches, a
 * screenshot of it is not blank, and the chart's bars add up to the report's counts.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { buildIncidentScenario, INCIDENT_HOST } from '../helpers/incident-scenario.js';
import { renderReport } from '../../report/render.js';
import { collectReportHeader, type ReportHeader } from '../../report/report-model.js';
import { sqliteReportReads } from '../../store/report-reads.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';
import { chromiumUnavailable, launchChromium, watchedPage } from '../helpers/chromium.js';

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`skipped: ${unavailable}`);

let t: TempStore;
let file: string;
let header: ReportHeader;

beforeAll(async () => {
  t = openTempStore();
  const log = buildIncidentScenario(t.store, t.dir, Date.parse('2026-11-21T12:00:00.000Z'));
  await ingestFiles(t.store, [log], { localHost: INCIDENT_HOST });
  header = await collectReportHeader(sqliteReportReads(t.store), { vm: 'build', dbPath: 'x', version: 'TEST' });
  let html = '';
  await renderReport(sqliteReportReads(t.store), header, 'html', { write: (s) => (html += s) });
  file = join(t.dir, 'build.html');
  writeFileSync(file, html);
});
afterAll(() => t.cleanup());

describe.runIf(!unavailable)('the HTML report in chromium', () => {
  it('renders cleanly, offline, non-blank, with bars that match the counts', async () => {
    const browser = await launchChromium();
    try {
      const { page, errors, requests } = await watchedPage(browser, { width: 1200, height: 900 });
      await page.goto(`file://${file}`);
      expect(errors).toEqual([]);
      expect(requests).toEqual([`file://${file}`]);

      const shot = await page.screenshot({ fullPage: false });
      await page.goto('about:blank');
      const blank = await page.screenshot({ fullPage: false });
      expect(shot.length).toBeGreaterThan(blank.length * 5);

      await page.goto(`file://${file}`);
      const bars = await page.$$eval('rect.bar', (rects) =>
        rects.map((r) => ({
          kind: r.getAttribute('data-kind'),
          count: Number(r.getAttribute('data-count')),
          height: Number(r.getAttribute('height')),
        })),
      );
      const sums: Record<string, number> = {};
      for (const b of bars) sums[b.kind as string] = (sums[b.kind as string] ?? 0) + b.count;
      const expected = Object.fromEntries(Object.entries(header.totals.byKind).filter(([, n]) => n > 0));
      expect(sums).toEqual(expected);
      // Heights are proportional to counts: count / height is the same for every bar.
      const ratios = bars.map((b) => b.count / b.height);
      for (const r of ratios) expect(r).toBeCloseTo(ratios[0] as number, 6);
      expect(await page.textContent('#total-denials')).toBe(String(header.totals.denials));
    } finally {
      await browser.close();
    }
  }, 60_000);
});
