// Shared helpers of the browser tests: launch Debian's Chromium through playwright-core, fill
// the query form by its accessible names, and read what the canvases drew.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const RESULTS_DIR = fileURLToPath(new URL('../test-results/', import.meta.url));

function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium not found: apt-get install -y chromium (or set CHROMIUM=/path/to/chrome)');
  }
}

export async function launch() {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export function baseUrl() {
  const url = process.env.BASE_URL;
  if (!url) throw new Error('BASE_URL is not set (e.g. BASE_URL=http://127.0.0.1:8080)');
  return url.replace(/\/$/, '');
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Waits until `fn()` (run in the test) returns a truthy value. */
export async function until(fn, message, timeoutMs = 15_000) {
  const start = Date.now();
  let last;
  while (Date.now() - start < timeoutMs) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${message} (timed out after ${timeoutMs} ms; last: ${JSON.stringify(last)})`);
}

/** Sets the form's symbols (removing any chosen ones), frequency and range. */
export async function fillQuery(page, { symbols, frequency = '1d', start, end }) {
  for (const remove of await page.getByRole('button', { name: /^Remove / }).all()) await remove.click();
  await page.getByLabel('Symbols', { exact: true }).fill(symbols.join(' '));
  await page.getByLabel('Frequency', { exact: true }).fill(frequency);
  await page.getByLabel('Start', { exact: true }).fill(start);
  await page.getByLabel('End', { exact: true }).fill(end ?? '');
}

/** Number of sampled pixels that are not background in the canvases under `locator`. */
export async function ink(locator) {
  return locator.evaluate((el) => {
    let n = 0;
    for (const c of el.querySelectorAll('canvas')) {
      if (!c.width || !c.height) continue;
      const ctx = c.getContext('2d');
      if (!ctx) continue;
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 16) {
        if (d[i + 3] > 0 && (d[i] < 225 || d[i + 1] < 225 || d[i + 2] < 225)) n++;
      }
    }
    return n;
  });
}

export function shot(page, name) {
  return page.screenshot({ path: `${RESULTS_DIR}${name}.png`, fullPage: true });
}
