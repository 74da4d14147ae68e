// Number and time formatting with cached Intl formatters (the table formats only visible rows,
// the chart shifts timestamps once per series).

const numberFormats = new Map<string, Intl.NumberFormat>();

function numberFormat(min: number, max: number): Intl.NumberFormat {
  const key = `${min}:${max}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: min, maximumFractionDigits: max });
    numberFormats.set(key, f);
  }
  return f;
}

/** A price with 2..4 decimals; an em dash for null. */
export function formatPrice(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : numberFormat(2, 4).format(v);
}

/** A whole count with thousands separators. */
export function formatCount(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : numberFormat(0, 0).format(v);
}

/** A ratio as a percentage, e.g. 0.1234 -> "12.34%". */
export function formatPercent(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`;
}

/** Milliseconds as "850 ms" or "2.4 s". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Bytes as "512 B", "1.2 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

function partsFormat(timeZone: string): Intl.DateTimeFormat {
  let f = dateTimeFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    dateTimeFormats.set(timeZone, f);
  }
  return f;
}

function wallClock(epochSeconds: number, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts = partsFormat(timeZone).formatToParts(new Date(epochSeconds * 1000));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour') % 24, mi: get('minute'), s: get('second') };
}

/** `YYYY-MM-DD HH:MM` of an instant in `timeZone`. */
export function formatInstant(epochSeconds: number, timeZone: string, withSeconds = false): string {
  const w = wallClock(epochSeconds, timeZone);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.y}-${p(w.mo)}-${p(w.d)} ${p(w.h)}:${p(w.mi)}${withSeconds ? `:${p(w.s)}` : ''}`;
}

/** Offset of `timeZone` from UTC at an instant, in seconds (e.g. -14400 for New York in summer). */
export function zoneOffsetSeconds(epochSeconds: number, timeZone: string): number {
  const w = wallClock(epochSeconds, timeZone);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) / 1000;
  return asUtc - Math.floor(epochSeconds);
}

/**
 * Shifts UTC instants so that a chart which shows UTC shows exchange wall-clock time. Offsets
 * change only at DST transitions, so one lookup per UTC hour is cached.
 */
export function makeZoneShifter(timeZone: string): (epochSeconds: number) => number {
  const cache = new Map<number, number>();
  return (t: number) => {
    const hour = Math.floor(t / 3600);
    let off = cache.get(hour);
    if (off === undefined) {
      off = zoneOffsetSeconds(hour * 3600, timeZone);
      cache.set(hour, off);
    }
    return t + off;
  };
}

/** Epoch seconds of an RFC 3339 instant. */
export function parseInstant(rfc3339: string): number {
  return Math.floor(Date.parse(rfc3339) / 1000);
}

/** RFC 3339 UTC (`2013-10-07T13:30:00Z`) of epoch seconds. */
export function toRfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}
