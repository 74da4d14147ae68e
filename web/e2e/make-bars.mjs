// Writes N synthetic 1-minute bars (CSV: ts,open,high,low,close,volume) on weekdays,
// 14:30-21:00 UTC, for the UI measurements (`measure.mjs`): `node e2e/make-bars.mjs 500000`.
const n = Number(process.argv[2] ?? 100_000);
const out = process.stdout;
out.write('ts,open,high,low,close,volume\n');
let t = Date.UTC(2015, 0, 5, 14, 30) / 1000;
let price = 100;
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const lines = [];
for (let i = 0; i < n; i++) {
  const d = new Date(t * 1000);
  const open = price;
  const close = Math.max(1, open + (rand() - 0.5) * 0.4);
  const high = Math.max(open, close) + rand() * 0.1;
  const low = Math.min(open, close) - rand() * 0.1;
  lines.push(`${d.toISOString().replace('.000Z', 'Z')},${open.toFixed(2)},${high.toFixed(2)},${low.toFixed(2)},${close.toFixed(2)},${Math.floor(rand() * 5000) + 100}`);
  price = close;
  t += 60;
  const m = new Date(t * 1000);
  if (m.getUTCHours() === 21) {
    t += 17.5 * 3600; // next day 14:30
    const next = new Date(t * 1000).getUTCDay();
    if (next === 6) t += 2 * 86400;
    if (next === 0) t += 86400;
  }
  if (lines.length === 10_000) {
    out.write(lines.join('\n') + '\n');
    lines.length = 0;
  }
}
if (lines.length) out.write(lines.join('\n') + '\n');
