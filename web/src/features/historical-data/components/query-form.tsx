import { useMemo, useState, type FormEvent } from 'react';

import { Field } from '@/components/ui/field';

import { useFrequencies } from '../api/get-frequencies';
import { useSymbolChecks } from '../hooks/use-symbol-checks';
import {
  hasContinuous,
  hasFutures,
  PRESETS,
  validate,
  type FieldName,
  type QueryFormValues,
} from '../lib/query-params';
import { addSymbols, splitSymbols, SymbolPicker } from './symbol-picker';

interface QueryFormProps {
  values: QueryFormValues;
  onChange: (values: QueryFormValues) => void;
  /** Called with valid values when the user runs the query (button or Enter). */
  onRun: (values: QueryFormValues) => void;
  onCancel: () => void;
  running: boolean;
}

const FALLBACK_FREQUENCIES = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w', '1M'];

/** The query form. Enter anywhere in it runs the query; problems show inline before sending. */
export function QueryForm({ values, onChange, onRun, onCancel, running }: QueryFormProps) {
  const [text, setText] = useState('');
  const [touched, setTouched] = useState<ReadonlySet<FieldName>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const checks = useSymbolChecks(values.symbols);
  const frequencies = useFrequencies();
  const errors = useMemo(() => validate(values, checks.facts), [values, checks.facts]);
  const futures = hasFutures(values, checks.facts);
  const continuous = hasContinuous(values);
  const equities = !futures;
  const preset = PRESETS.find((p) => p.value === values.preset)!;

  const shown = (f: FieldName) => (submitted || touched.has(f) ? errors[f] : undefined);
  const touch = (f: FieldName) => setTouched((t) => (t.has(f) ? t : new Set([...t, f])));
  const set = <K extends keyof QueryFormValues>(key: K, value: QueryFormValues[K]) => onChange({ ...values, [key]: value });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    const pending = splitSymbols(text);
    const next = pending.length ? { ...values, symbols: addSymbols(values.symbols, pending) } : values;
    if (pending.length) {
      setText('');
      onChange(next);
    }
    const problems = validate(next, checks.facts);
    if (Object.keys(problems).length === 0) onRun(next);
  };

  const freqNames = frequencies.data?.data.map((f) => f.name) ?? FALLBACK_FREQUENCIES;

  return (
    <form className="query-form" onSubmit={submit} noValidate aria-label="Query">
      <div className="form-row">
        <Field
          label="Symbols"
          className="field--wide"
          error={shown('symbols')}
          hint={checks.checking ? 'Checking symbols…' : 'Type to search; comma or space adds a symbol. Continuous futures: ROOT.RULE.RANK, e.g. ES.v.0'}
        >
          {({ id, describedBy, invalid }) => (
            <SymbolPicker
              id={id}
              describedBy={describedBy}
              invalid={invalid}
              symbols={values.symbols}
              text={text}
              assetClass={values.assetClass}
              status={checks.status}
              onTextChange={setText}
              onSymbolsChange={(symbols) => {
                touch('symbols');
                set('symbols', symbols);
              }}
            />
          )}
        </Field>
        <Field label="Asset class">
          {({ id }) => (
            <select id={id} value={values.assetClass} onChange={(e) => set('assetClass', e.target.value as QueryFormValues['assetClass'])}>
              <option value="">Any</option>
              <option value="stock">Stock</option>
              <option value="index">Index</option>
              <option value="future">Future</option>
            </select>
          )}
        </Field>
      </div>

      <div className="form-row">
        <Field label="Frequency" error={shown('frequency')} hint="Standard, custom N{s,m,h,d,w,M}, or volume:N, tick:N, dollar:N">
          {({ id, describedBy, invalid }) => (
            <>
              <input
                id={id}
                list={`${id}-list`}
                value={values.frequency}
                aria-describedby={describedBy}
                aria-invalid={invalid || undefined}
                autoComplete="off"
                spellCheck={false}
                onChange={(e) => set('frequency', e.target.value)}
                onBlur={() => touch('frequency')}
              />
              <datalist id={`${id}-list`}>
                {freqNames.map((f) => (
                  <option key={f} value={f} />
                ))}
                <option value="volume:50000">volume bars</option>
                <option value="tick:100">tick bars</option>
                <option value="dollar:1e6">dollar bars</option>
              </datalist>
            </>
          )}
        </Field>
        <Field label="Preset">
          {({ id }) => (
            <select id={id} value={values.preset} onChange={(e) => set('preset', e.target.value as QueryFormValues['preset'])}>
              {PRESETS.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {preset.counted ? (
          <Field label="N" error={shown('presetCount')}>
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                inputMode="numeric"
                className="input--short"
                value={values.presetCount}
                aria-describedby={describedBy}
                aria-invalid={invalid || undefined}
                onChange={(e) => set('presetCount', e.target.value)}
                onBlur={() => touch('presetCount')}
              />
            )}
          </Field>
        ) : null}
        {values.preset === 'custom' ? (
          <>
            <Field label="Start" error={shown('start')}>
              {({ id, describedBy, invalid }) => (
                <input
                  id={id}
                  placeholder="YYYY-MM-DD"
                  value={values.start}
                  aria-describedby={describedBy}
                  aria-invalid={invalid || undefined}
                  onChange={(e) => set('start', e.target.value)}
                  onBlur={() => touch('start')}
                />
              )}
            </Field>
            <Field label="End" error={shown('end')}>
              {({ id, describedBy, invalid }) => (
                <input
                  id={id}
                  placeholder="YYYY-MM-DD (default: now)"
                  value={values.end}
                  aria-describedby={describedBy}
                  aria-invalid={invalid || undefined}
                  onChange={(e) => set('end', e.target.value)}
                  onBlur={() => touch('end')}
                />
              )}
            </Field>
          </>
        ) : (
          <Field label="As of" error={shown('asOf')} hint="Default: now">
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                placeholder="YYYY-MM-DD"
                value={values.asOf}
                aria-describedby={describedBy}
                aria-invalid={invalid || undefined}
                onChange={(e) => set('asOf', e.target.value)}
                onBlur={() => touch('asOf')}
              />
            )}
          </Field>
        )}
      </div>

      <div className="form-row">
        {equities ? (
          <Field label="Session">
            {({ id }) => (
              <select id={id} value={values.session} onChange={(e) => set('session', e.target.value as QueryFormValues['session'])}>
                <option value="regular">Regular (09:30–16:00)</option>
                <option value="extended">Extended (04:00–20:00)</option>
                <option value="all">All stored bars</option>
              </select>
            )}
          </Field>
        ) : null}
        <Field label="Fill">
          {({ id }) => (
            <select id={id} value={values.fill} onChange={(e) => set('fill', e.target.value as QueryFormValues['fill'])}>
              <option value="none">No filling</option>
              <option value="null">Empty bars</option>
              <option value="prev">Previous close</option>
              <option value="linear">Linear</option>
            </select>
          )}
        </Field>
        {equities ? (
          <Field label="Corporate actions">
            {({ id }) => (
              <select id={id} value={values.stockAdjust} onChange={(e) => set('stockAdjust', e.target.value as QueryFormValues['stockAdjust'])}>
                <option value="none">Raw prices</option>
                <option value="split">Split-adjusted</option>
                <option value="all">Splits and dividends</option>
              </select>
            )}
          </Field>
        ) : null}
        <label className="checkbox">
          <input type="checkbox" checked={values.sessionVwap} onChange={(e) => set('sessionVwap', e.target.checked)} />
          Session VWAP
        </label>
      </div>

      {futures ? (
        <fieldset className="form-row futures-options">
          <legend>Futures{continuous ? '' : ' (roll options apply to continuous symbols such as ES.v.0)'}</legend>
          <Field label="Roll rule">
            {({ id }) => (
              <select id={id} value={values.roll} disabled={!continuous} onChange={(e) => set('roll', e.target.value as QueryFormValues['roll'])}>
                <option value="">As in the symbol</option>
                <option value="calendar">Calendar (expiry)</option>
                <option value="volume">Volume</option>
                <option value="open_interest">Open interest</option>
              </select>
            )}
          </Field>
          <Field label="Rank" error={shown('rank')}>
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                inputMode="numeric"
                className="input--short"
                placeholder="symbol"
                disabled={!continuous}
                value={values.rank}
                aria-describedby={describedBy}
                aria-invalid={invalid || undefined}
                onChange={(e) => set('rank', e.target.value)}
                onBlur={() => touch('rank')}
              />
            )}
          </Field>
          <Field label="Roll offset" error={shown('rollOffset')} hint="Trading days before expiry">
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                inputMode="numeric"
                className="input--short"
                placeholder="0"
                disabled={!continuous}
                value={values.rollOffset}
                aria-describedby={describedBy}
                aria-invalid={invalid || undefined}
                onChange={(e) => set('rollOffset', e.target.value)}
                onBlur={() => touch('rollOffset')}
              />
            )}
          </Field>
          <Field label="Adjustment">
            {({ id }) => (
              <select id={id} value={values.adjust} disabled={!continuous} onChange={(e) => set('adjust', e.target.value as QueryFormValues['adjust'])}>
                <option value="none">None (raw)</option>
                <option value="difference_back">Back, difference (Panama)</option>
                <option value="ratio_back">Back, ratio</option>
                <option value="difference_forward">Forward, difference</option>
                <option value="ratio_forward">Forward, ratio</option>
              </select>
            )}
          </Field>
        </fieldset>
      ) : null}

      <div className="form-actions">
        <button type="submit" className="primary">
          Run query
        </button>
        <button type="button" onClick={onCancel} disabled={!running}>
          Cancel
        </button>
        <span className="muted kbd-hint">
          <kbd>Enter</kbd> runs the query
        </span>
      </div>
    </form>
  );
}
