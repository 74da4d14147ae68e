// End-to-end tests of the web UI in headless Chromium against a running server with the demo
// data (BASE_URL). Prints one line per test and the closing "N passed, N failed" line;
// screenshots go to web/test-results/. Run by scripts/test_web.sh.
import { readFile } from 'node:fs/promises';

import { assert, baseUrl, fillQuery, ink, launch, shot, until } from './lib.mjs';

const BASE = baseUrl();
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function openPage(context) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${BASE}/`);
  await page.getByLabel('Symbols', { exact: true }).waitFor();
  return { page, errors };
}

async function runAapl2013(page) {
  await fillQuery(page, { symbols: ['AAPL'], frequency: '1d', start: '2013-01-01', end: '2013-12-31' });
  await page.getByLabel('End', { exact: true }).press('Enter');
  await page.getByText('252 bars', { exact: true }).waitFor({ timeout: 15_000 });
}

test('AAPL daily 2013 shows 252 bars and a drawn chart', async ({ page, errors }) => {
  await runAapl2013(page);
  const chart = page.getByRole('img', { name: /^Chart of AAPL/ });
  assert((await chart.getAttribute('data-bars')) === '252', 'chart holds 252 bars');
  await until(async () => (await ink(chart)) > 2000, 'chart canvas has candles drawn');
  const rows = page.getByRole('table', { name: 'Bars table' }).getByRole('row');
  assert((await rows.count()) > 5, 'table rows rendered');
  await until(async () => (await page.getByRole('status', { name: /WebSocket connection/ }).textContent()).includes('connected'), 'live indicator says connected (the server serves /ws)');
  await shot(page, '01-aapl-daily-2013');
  assert(errors.length === 0, `page errors: ${errors.join('; ')}`);
});

test('scrolling the chart left loads older bars', async ({ page }) => {
  await runAapl2013(page);
  const chart = page.getByRole('img', { name: /^Chart of AAPL/ });
  const box = await chart.boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.95, box.y + box.height / 2, { steps: 12 });
  await page.mouse.up();
  await until(async () => Number(await chart.getAttribute('data-bars')) > 252, 'older bars were prepended');
  await page.getByText(/^\d[\d,]* bars$/).filter({ hasNotText: '252 bars' }).first().waitFor();
  await shot(page, '02-older-bars-loaded');
});

test('save, find, run and delete a query', async ({ page }) => {
  const name = `e2e AAPL 2013 ${Date.now()}`;
  await runAapl2013(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description', { exact: true }).fill('daily bars of 2013');
  await page.getByRole('button', { name: 'Save query', exact: true }).click();
  await page.getByText(`Saved “${name}”`).waitFor();

  await page.getByRole('tab', { name: 'Saved Queries' }).click();
  await page.getByLabel('Search saved queries').fill(name.slice(0, 12));
  const item = page.getByRole('listitem').filter({ hasText: name });
  await item.waitFor();
  await item.getByText('Last run: never').waitFor();
  await shot(page, '03-saved-queries');

  await page.getByRole('button', { name: `Run saved ${name}` }).click();
  assert((await page.getByRole('tab', { name: 'New Query' }).getAttribute('aria-selected')) === 'true', 'running switches to New Query');
  await page.getByText(`${name}: 252 bars`).waitFor();
  await page.getByText('252 bars', { exact: true }).waitFor();

  await page.getByRole('tab', { name: 'Saved Queries' }).click();
  await item.getByText(/Last run: \d{4}-/).waitFor();
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  await page.getByRole('alertdialog').waitFor();
  await shot(page, '04-delete-confirmation');
  await page.getByRole('button', { name: 'Confirm delete' }).click();
  await item.waitFor({ state: 'detached' });
  const left = await (await page.request.get(`${BASE}/api/v1/historical-data/queries?search=${encodeURIComponent(name)}`)).json();
  assert(left.data.length === 0, 'the query is gone on the server');
});

test('a long query shows progress and cancels', async ({ page }) => {
  // Demo queries answer in milliseconds; a throttled network (200 kB/s) makes the 3 MB answer
  // of ES.v.0 1m over a quarter take ~15 s, as a big query on a slow link would.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 50, downloadThroughput: 200 * 1024, uploadThroughput: -1 });
  try {
    await fillQuery(page, { symbols: ['ES.v.0'], frequency: '1m', start: '2013-10-01', end: '2013-12-31' });
    await page.getByRole('button', { name: 'Run query', exact: true }).click();
    const bar = page.getByRole('progressbar', { name: 'Query progress' });
    await bar.waitFor();
    await until(async () => Number(await bar.getAttribute('aria-valuenow')) > 0, 'download progress is shown');
    await page.getByText('Receiving bars').waitFor();
    await shot(page, '05-long-query-progress');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.locator('[data-status="cancelled"]').waitFor();
    await page.getByText(/^Cancelled after/).waitFor();
    assert((await page.getByRole('img', { name: /^Chart of/ }).count()) === 0, 'no result was shown for the cancelled query');
    assert(await page.getByRole('button', { name: 'Cancel', exact: true }).isDisabled(), 'Cancel is disabled once nothing runs');
    await shot(page, '06-long-query-cancelled');
  } finally {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  }
});

test('compare renders two series', async ({ page }) => {
  await runAapl2013(page);
  await page.getByLabel('Compare with').fill('IBM');
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  const chart = page.getByRole('img', { name: 'Comparison chart: AAPL vs IBM' });
  await chart.waitFor();
  assert((await chart.getAttribute('data-series')) === '2', 'two series');
  await until(async () => (await ink(chart)) > 500, 'compare lines drawn');
  const stats = page.getByRole('table', { name: 'Comparison statistics' });
  assert((await stats.getByRole('row').count()) === 3, 'a stats row per series');
  await stats.getByRole('rowheader', { name: 'IBM' }).waitFor();
  await shot(page, '07-compare-symbols');

  await page.getByLabel('Period vs period').check();
  await page.getByLabel('Second period from').fill('2012-01-01');
  await page.getByLabel('Second period to').fill('2012-12-31');
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  const periods = page.getByRole('img', { name: /Comparison chart: AAPL 2013-01-01 → 2013-12-31 vs AAPL 2012-01-01 → 2012-12-31/ });
  await periods.waitFor();
  await until(async () => (await ink(periods)) > 500, 'period lines drawn');
  await shot(page, '08-compare-periods');
});

test('ES.v.0 shows roll markers and the roll table', async ({ page }) => {
  await fillQuery(page, { symbols: ['ES.v.0'], frequency: '1d', start: '2013-10-01', end: '2013-12-31' });
  for (const label of ['Roll rule', 'Rank', 'Roll offset', 'Adjustment']) await page.getByLabel(label, { exact: true }).waitFor();
  await page.getByLabel('End', { exact: true }).press('Enter');
  const chart = page.getByRole('img', { name: /^Chart of ES\.v\.0/ });
  await chart.waitFor();
  await until(async () => Number(await chart.getAttribute('data-roll-markers')) >= 1, 'a roll marker is on the chart');
  const rolls = page.getByRole('table', { name: 'Roll table of ES.v.0' });
  await rolls.getByRole('row').filter({ hasText: 'ESZ13' }).filter({ hasText: 'ESH14' }).waitFor();
  await page.getByRole('columnheader', { name: 'Contract' }).waitFor();
  await until(async () => (await ink(chart)) > 1000, 'chart drawn');
  await shot(page, '09-es-continuous-rolls');
});

test('export downloads a CSV whose row count matches', async ({ page, errors }) => {
  await runAapl2013(page);
  const group = page.getByRole('group', { name: 'Export' });
  await group.getByLabel('Format', { exact: true }).selectOption('csv');
  const exportButton = group.getByRole('button', { name: 'Export', exact: true });
  await until(async () => !(await exportButton.isDisabled()), 'Export enabled');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), exportButton.click()]);
  assert(download.suggestedFilename() === 'AAPL_1d.csv', `file name ${download.suggestedFilename()}`);
  const path = await download.path();
  assert(path, 'download saved');
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.length > 0);
  assert(lines[0].startsWith('ts,open,high,low,close,volume'), `header: ${lines[0]}`);
  assert(lines.length === 253, `252 data rows + header, got ${lines.length} lines`);
  assert(errors.length === 0, `page errors: ${errors.join('; ')}`);
});

const browser = await launch();
let passed = 0;
let failed = 0;
for (const t of tests) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const started = Date.now();
  let env;
  try {
    env = await openPage(context);
    await t.fn(env);
    passed++;
    console.log(`ok - ${t.name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL - ${t.name}: ${e.message.split('\n')[0]}`);
    if (env) await shot(env.page, `FAIL-${t.name.replace(/\W+/g, '-')}`).catch(() => {});
  } finally {
    await context.close();
  }
}
await browser.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
