// The query form's values, their validation, and the mapping to and from the API's fetch
// document (what is sent to `fetch` and stored in saved queries).
import type { FetchRequest } from '@/lib/api-types';

export type AssetClassChoice = '' | 'stock' | 'index' | 'future';
export type PresetKind = 'custom' | 'today' | 'last_days' | 'last_months' | 'ytd' | 'last_bars';
export type SessionChoice = 'regular' | 'extended' | 'all';
export type FillChoice = 'none' | 'null' | 'prev' | 'linear';
export type RollRuleChoice = '' | 'calendar' | 'volume' | 'open_interest';
export type FuturesAdjustChoice = 'none' | 'difference_back' | 'ratio_back' | 'difference_forward' | 'ratio_forward';
export type StockAdjustChoice = 'none' | 'split' | 'all';

export interface QueryFormValues {
  symbols: string[];
  assetClass: AssetClassChoice;
  frequency: string;
  preset: PresetKind;
  /** N of "last N days/months/bars". */
  presetCount: string;
  start: string;
  end: string;
  /** Instant presets are measured from (empty: now). */
  asOf: string;
  session: SessionChoice;
  fill: FillChoice;
  sessionVwap: boolean;
  stockAdjust: StockAdjustChoice;
  roll: RollRuleChoice;
  rank: string;
  rollOffset: string;
  adjust: FuturesAdjustChoice;
}

export const DEFAULT_VALUES: QueryFormValues = {
  symbols: [],
  assetClass: '',
  frequency: '1d',
  preset: 'custom',
  presetCount: '30',
  start: '',
  end: '',
  asOf: '',
  session: 'regular',
  fill: 'none',
  sessionVwap: false,
  stockAdjust: 'none',
  roll: '',
  rank: '',
  rollOffset: '',
  adjust: 'none',
};

export const PRESETS: { value: PresetKind; label: string; counted: boolean }[] = [
  { value: 'custom', label: 'Custom range', counted: false },
  { value: 'today', label: 'Today', counted: false },
  { value: 'last_days', label: 'Last N days', counted: true },
  { value: 'last_months', label: 'Last N months', counted: true },
  { value: 'ytd', label: 'Year to date', counted: false },
  { value: 'last_bars', label: 'Last N bars', counted: true },
];

const CONTINUOUS = /^([A-Za-z0-9]{1,8})\.([cvnCVN])\.(\d{1,2})$/;
const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9._^/-]{0,31}$/;

/** `ES.v.0` style continuous futures symbol: root, rule letter, rank. */
export function parseContinuous(symbol: string): { root: string; rule: 'c' | 'v' | 'n'; rank: number } | null {
  const m = CONTINUOUS.exec(symbol.trim());
  if (!m) return null;
  return { root: m[1]!.toUpperCase(), rule: m[2]!.toLowerCase() as 'c' | 'v' | 'n', rank: Number(m[3]) };
}

/** Canonical spelling: upper case, except the rule letter of a continuous symbol. */
export function normalizeSymbol(raw: string): string {
  const s = raw.trim();
  const c = parseContinuous(s);
  return c ? `${c.root}.${c.rule}.${c.rank}` : s.toUpperCase();
}

/** Why a symbol cannot be right by its spelling alone (null when it may be). */
export function symbolSyntaxError(symbol: string): string | null {
  if (parseContinuous(symbol)) return null;
  if (symbol.includes('.') && /\.[A-Za-z]\.\d/.test(symbol)) {
    return `${symbol}: the rule of a continuous symbol is c (calendar), v (volume) or n (open interest)`;
  }
  return SYMBOL.test(symbol) ? null : `${symbol} is not a valid symbol`;
}

const FREQUENCY = /^[1-9]\d*(s|m|h|d|w|M)$/;
const ACTIVITY = /^(volume|tick|dollar):(\d+(\.\d+)?([eE]\d+)?)$/;

/** Why a frequency is not one the API accepts (null when it is). */
export function frequencyError(frequency: string): string | null {
  const f = frequency.trim();
  if (!f) return 'Enter a frequency, e.g. 1d, 5m or volume:50000';
  if (FREQUENCY.test(f)) return null;
  const a = ACTIVITY.exec(f);
  if (a) return Number(a[2]) > 0 ? null : 'The size of activity bars must be positive';
  return `${f} is not a frequency: use N followed by s, m, h, d, w or M (e.g. 15m, 1M), or volume:N, tick:N, dollar:N`;
}

/** Intraday frequencies (seconds, minutes, hours, activity bars) use exchange time of day. */
export function isIntraday(frequency: string): boolean {
  const f = frequency.trim();
  return /^[1-9]\d*(s|m|h)$/.test(f) || ACTIVITY.test(f);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds of a date (UTC midnight) or RFC 3339 instant; null when invalid. */
export function parseDateOrInstant(text: string): number | null {
  const s = text.trim();
  const d = DATE.exec(s);
  if (d) {
    const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
    const t = Date.UTC(y, m - 1, day);
    const back = new Date(t);
    return back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === day ? t : null;
  }
  const i = INSTANT.exec(s);
  if (i) {
    const t = Date.parse(s);
    const [y, m, day] = [Number(i[1]), Number(i[2]), Number(i[3])];
    const probe = new Date(Date.UTC(y, m - 1, day));
    if (probe.getUTCMonth() !== m - 1 || Number(i[4]) > 23 || Number(i[5]) > 59) return null;
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

export interface SymbolFacts {
  /** Symbols the server does not know (checked as they were entered). */
  unknown: ReadonlySet<string>;
  /** Symbols the server knows as futures contracts. */
  futures: ReadonlySet<string>;
}

const NO_FACTS: SymbolFacts = { unknown: new Set(), futures: new Set() };

/** True when futures options apply: a continuous or futures symbol, or asset class future. */
export function hasFutures(values: QueryFormValues, facts: SymbolFacts = NO_FACTS): boolean {
  return values.assetClass === 'future' || values.symbols.some((s) => parseContinuous(s) !== null || facts.futures.has(s));
}

/** True when any symbol is a continuous futures symbol (roll options are sent). */
export function hasContinuous(values: QueryFormValues): boolean {
  return values.symbols.some((s) => parseContinuous(s) !== null);
}

export type FieldName = 'symbols' | 'frequency' | 'start' | 'end' | 'presetCount' | 'asOf' | 'rank' | 'rollOffset';
export type FormErrors = Partial<Record<FieldName, string>>;

function wholeNumber(text: string): number | null {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
}

/** Every problem of the form, by field, before anything is sent. */
export function validate(values: QueryFormValues, facts: SymbolFacts = NO_FACTS): FormErrors {
  const errors: FormErrors = {};
  if (values.symbols.length === 0) {
    errors.symbols = 'Add at least one symbol';
  } else {
    const problems = values.symbols.map((s) => symbolSyntaxError(s) ?? (facts.unknown.has(s) ? `Unknown symbol ${s}` : null)).filter(Boolean);
    if (problems.length) errors.symbols = problems.join('; ');
  }
  const f = frequencyError(values.frequency);
  if (f) errors.frequency = f;

  if (values.preset === 'custom') {
    const start = values.start.trim() ? parseDateOrInstant(values.start) : null;
    if (!values.start.trim()) errors.start = 'Enter a start date (YYYY-MM-DD) or choose a preset';
    else if (start === null) errors.start = 'Use YYYY-MM-DD or an RFC 3339 instant such as 2013-10-07T13:30:00Z';
    if (values.end.trim()) {
      const end = parseDateOrInstant(values.end);
      if (end === null) errors.end = 'Use YYYY-MM-DD or an RFC 3339 instant';
      else if (start !== null && end < start) errors.end = 'End lies before start';
    }
  } else {
    const preset = PRESETS.find((p) => p.value === values.preset);
    if (preset?.counted) {
      const n = wholeNumber(values.presetCount);
      if (n === null || n < 1) errors.presetCount = 'Enter a whole number of at least 1';
    }
    if (values.asOf.trim() && parseDateOrInstant(values.asOf) === null) {
      errors.asOf = 'Use YYYY-MM-DD or an RFC 3339 instant';
    }
  }
  if (hasContinuous(values)) {
    if (values.rank.trim() && wholeNumber(values.rank) === null) errors.rank = 'Rank is a whole number (0 = front month)';
    if (values.rollOffset.trim() && wholeNumber(values.rollOffset) === null) errors.rollOffset = 'Roll offset is a whole number of trading days';
  }
  return errors;
}

function isoDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The fetch document of valid form values. `now` decides "today" when no as-of is given. */
export function toFetchRequest(values: QueryFormValues, now: Date = new Date()): FetchRequest {
  const req: FetchRequest = { symbols: values.symbols, frequency: values.frequency.trim() };
  const n = values.presetCount.trim();
  switch (values.preset) {
    case 'custom':
      req.start = values.start.trim();
      if (values.end.trim()) req.end = values.end.trim();
      break;
    case 'today': {
      const day = values.asOf.trim() ? values.asOf.trim().slice(0, 10) : isoDate(now);
      req.start = day;
      req.end = day;
      break;
    }
    case 'last_days':
      req.preset = `last_${n}_days`;
      break;
    case 'last_months':
      req.preset = `last_${n}_months`;
      break;
    case 'ytd':
      req.preset = 'ytd';
      break;
    case 'last_bars':
      req.preset = `last_${n}_bars`;
      break;
  }
  if (req.preset && values.asOf.trim()) req.as_of = values.asOf.trim();
  const futures = hasFutures(values);
  if (!futures && values.session !== 'regular') req.session = values.session;
  if (values.fill !== 'none') req.fill = values.fill;
  if (values.sessionVwap) req.session_vwap = true;
  if (hasContinuous(values)) {
    if (values.roll) req.roll = values.roll;
    if (values.rank.trim()) req.rank = Number(values.rank);
    if (values.rollOffset.trim()) req.roll_offset = Number(values.rollOffset);
    if (values.adjust !== 'none') req.adjust = values.adjust;
  } else if (!futures && values.stockAdjust !== 'none') {
    req.adjust = values.stockAdjust;
  }
  return req;
}

function oneOf<T extends string>(value: string | null | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** Form values of a stored fetch document (a saved query), the inverse of `toFetchRequest`. */
export function fromFetchRequest(req: FetchRequest): QueryFormValues {
  const v: QueryFormValues = { ...DEFAULT_VALUES, symbols: [...req.symbols], frequency: req.frequency };
  const preset = req.preset ?? '';
  const m = /^last_(\d+)_(days|months|bars)$/.exec(preset);
  if (m) {
    v.preset = m[2] === 'days' ? 'last_days' : m[2] === 'months' ? 'last_months' : 'last_bars';
    v.presetCount = m[1]!;
  } else if (preset === 'ytd') {
    v.preset = 'ytd';
  } else {
    v.preset = 'custom';
    v.start = req.start ?? '';
    v.end = req.end ?? '';
  }
  v.asOf = req.as_of ?? '';
  v.session = oneOf(req.session, ['regular', 'extended', 'all'] as const, 'regular');
  v.fill = oneOf(req.fill, ['none', 'null', 'prev', 'linear'] as const, 'none');
  v.sessionVwap = req.session_vwap ?? false;
  v.roll = oneOf(req.roll, ['', 'calendar', 'volume', 'open_interest'] as const, '');
  v.rank = req.rank === undefined || req.rank === null ? '' : String(req.rank);
  v.rollOffset = req.roll_offset === undefined || req.roll_offset === null ? '' : String(req.roll_offset);
  if (v.symbols.some((s) => parseContinuous(s))) {
    v.adjust = oneOf(req.adjust, ['none', 'difference_back', 'ratio_back', 'difference_forward', 'ratio_forward'] as const, 'none');
  } else {
    v.stockAdjust = oneOf(req.adjust, ['none', 'split', 'all'] as const, 'none');
  }
  return v;
}

/** One line describing a fetch document, e.g. "AAPL · 1d · 2013-01-01 → 2013-12-31". */
export function describeRequest(req: FetchRequest): string {
  const range = req.preset
    ? `${req.preset.replace(/_/g, ' ')}${req.as_of ? ` as of ${req.as_of}` : ''}`
    : `${req.start ?? ''} → ${req.end ?? 'now'}`;
  return `${req.symbols.join(', ')} · ${req.frequency} · ${range}`;
}
