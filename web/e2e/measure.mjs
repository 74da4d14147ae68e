// Measures the UI in headless Chromium against a running server (BASE_URL): first load, time
// from "Run query" to rows + chart on screen for the demo's AAPL 2013 (252 bars) and for large
// synthetic series, table scroll frame times and sort time. Not a test: prints numbers.
//
//   node e2e/make-bars.mjs 500000 > /tmp/syn.csv
//   tradeassist --db /tmp/m.db import /tmp/syn.csv --symbol SYN --resolution 1m
//   tradeassist --db /tmp/m.db serve --demo --listen 127.0.0.1:8099 &
//   BASE_URL=http://127.0.0.1:8099 node e2e/measure.mjs SYN:2015-01-05:2015-12-31 ...
import { baseUrl, fillQuery, ink, launch } from './lib.mjs';

const BASE = baseUrl();
const browser = await launch();

async function fresh() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  return { context, page };
}

// First load, cold (new context, empty cache), three times.
for (let i = 0; i < 3; i++) {
  const { context, page } = await fresh();
  const t0 = Date.now();
  await page.goto(`${BASE}/`);
  await page.getByLabel('Symbols', { exact: true }).waitFor();
  const wall = Date.now() - t0;
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const res = performance.getEntriesByType('resource').filter((r) => r.name.includes('/assets/'));
    return {
      domContentLoaded: Math.round(n.domContentLoadedEventEnd),
      load: Math.round(n.loadEventEnd),
      fcp: fcp ? Math.round(fcp.startTime) : null,
      assetsTransferred: res.reduce((s, r) => s + r.transferSize, 0),
      assetsDecoded: res.reduce((s, r) => s + r.decodedBodySize, 0),
    };
  });
  console.log(`first load #${i + 1}: form usable after ${wall} ms (wall), DOMContentLoaded ${nav.domContentLoaded} ms, load ${nav.load} ms, FCP ${nav.fcp} ms; assets ${nav.assetsTransferred} B over the wire, ${nav.assetsDecoded} B decoded`);
  await context.close();
}

/**
 * Clicks Run query and resolves when the run has succeeded and its count text is on screen
 * (plus one frame, so chart and rows are painted): `answer` = request + download + JSON parse,
 * `total` = until painted.
 */
async function timeRun(page, expectText) {
  return page.evaluate(
    (expect) =>
      new Promise((resolve) => {
        const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Run query');
        const status = () => document.querySelector('.run-status')?.getAttribute('data-status');
        const t0 = performance.now();
        let started = false;
        let answer = null;
        const seen = new MutationObserver(() => {
          if (status() === 'running') started = true;
        });
        seen.observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
        button.click();
        const tick = () => {
          if (started && answer === null && status() === 'success') answer = performance.now() - t0;
          const count = document.getElementById('bars-count');
          if (answer !== null && count && count.textContent === expect) {
            seen.disconnect();
            requestAnimationFrame(() => resolve({ total: performance.now() - t0, answer }));
            return;
          }
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    expectText,
  );
}

async function measureQuery(label, query, expectText, extra) {
  const { context, page } = await fresh();
  await page.goto(`${BASE}/`);
  page.on('crash', () => console.log('  page crashed'));
  page.on('close', () => console.log('  page closed'));
  page.on('pageerror', (e) => console.log('  page error:', e.message));
  await page.getByLabel('Symbols', { exact: true }).waitFor();
  const runs = [];
  for (let i = 0; i < 3; i++) {
    await fillQuery(page, query);
    if (query.session) await page.getByLabel('Session', { exact: true }).selectOption(query.session);
    await page.getByLabel('Symbols', { exact: true }).press('Tab');
    runs.push(await timeRun(page, expectText));
  }
  const chart = page.getByRole('img', { name: /^Chart of/ });
  const drawn = await ink(chart);
  console.log(`${label}: ${runs.map((r) => `${Math.round(r.total)} ms (answer ${Math.round(r.answer)} ms, render ${Math.round(r.total - r.answer)} ms)`).join(', ')}; chart ink ${drawn}`);
  if (extra) await extra(page);
  await context.close();
}

async function scrollFrames(page, rowsPerFrame, frames) {
  return page.evaluate(
    ([rows, count]) =>
      new Promise((resolve) => {
        const body = document.querySelector('.grid__body');
        body.scrollTop = 0;
        const deltas = [];
        let last = performance.now();
        let n = 0;
        const step = () => {
          const now = performance.now();
          deltas.push(now - last);
          last = now;
          body.scrollTop += rows * 28;
          if (++n < count) requestAnimationFrame(step);
          else resolve(deltas.slice(1).sort((a, b) => a - b));
        };
        requestAnimationFrame(step);
      }),
    [rowsPerFrame, frames],
  );
}

async function scrollAndSort(page) {
  // Let background work (gap report, markers) finish first.
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(1000);
  for (const [rows, label] of [
    [10, 'wheel-like, 10 rows per frame'],
    [2000, 'fling, 2000 rows per frame'],
  ]) {
    const frames = await scrollFrames(page, rows, 240);
    const p = (q) => frames[Math.floor(q * (frames.length - 1))].toFixed(1);
    console.log(`  table scroll (${label}, 240 frames): frame time p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${p(1)} ms`);
  }
  const sortMs = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const header = [...document.querySelectorAll('button.sort')].find((b) => b.textContent.startsWith('Close'));
        const first = () => document.querySelector('.grid__body [role="row"]')?.textContent;
        const before = first();
        const t0 = performance.now();
        header.click();
        const tick = () => (first() !== before ? resolve(performance.now() - t0) : requestAnimationFrame(tick));
        requestAnimationFrame(tick);
      }),
  );
  console.log(`  sort by Close: ${Math.round(sortMs)} ms to the first sorted row on screen`);
}

await measureQuery('AAPL 1d 2013 (252 bars)', { symbols: ['AAPL'], frequency: '1d', start: '2013-01-01', end: '2013-12-31' }, '252 bars', scrollAndSort);
for (const spec of process.argv.slice(2)) {
  const [symbol, start, end, expect] = spec.split(':');
  const count = Number(expect);
  const text = `${count.toLocaleString('en-US')} bars`;
  await measureQuery(`${symbol} 1m ${start}..${end} (${text})`, { symbols: [symbol], frequency: '1m', start, end, session: 'all' }, text, scrollAndSort);
}
await browser.close();
