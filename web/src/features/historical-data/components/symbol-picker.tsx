import { useId, useState, type KeyboardEvent } from 'react';

import { useDebouncedValue } from '@/hooks/use-debounced-value';

import { useInstruments } from '../api/get-instruments';
import type { SymbolCheck } from '../api/get-instrument';
import type { Instrument } from '@/lib/api-types';
import { normalizeSymbol } from '../lib/query-params';

export const SEARCH_DEBOUNCE_MS = 200;

interface SymbolPickerProps {
  id: string;
  describedBy: string | undefined;
  invalid: boolean;
  symbols: string[];
  text: string;
  assetClass: string;
  status: Record<string, 'checking' | SymbolCheck>;
  onTextChange: (text: string) => void;
  onSymbolsChange: (symbols: string[]) => void;
}

/** Splits typed text into symbols ("aapl, ibm es.v.0" -> AAPL, IBM, ES.v.0). */
export function splitSymbols(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map(normalizeSymbol);
}

interface Suggestion {
  symbol: string;
  asset_class: string;
  description: string;
}

const CONTINUOUS_RULES: [string, string][] = [
  ['v', 'continuous, volume roll'],
  ['c', 'continuous, calendar roll'],
  ['n', 'continuous, open-interest roll'],
];

/** Found instruments, with the continuous front-month symbols of any futures root among them first. */
export function withContinuous(found: Instrument[]): Suggestion[] {
  const roots = [...new Set(found.map((i) => i.contract?.root).filter((r): r is string => Boolean(r)))];
  const continuous = roots.flatMap((root) =>
    CONTINUOUS_RULES.map(([rule, description]) => ({ symbol: `${root}.${rule}.0`, asset_class: 'future', description: `${root} ${description}` })),
  );
  return [...continuous, ...found];
}

export function addSymbols(current: string[], more: string[]): string[] {
  const out = [...current];
  for (const s of more) if (!out.includes(s)) out.push(s);
  return out;
}

/**
 * Multi-select of symbols with search-as-you-type. Comma, space or Tab add the typed symbol;
 * arrow keys and Enter pick a suggestion; Enter with no suggestion highlighted submits the form
 * (which adds the typed text first); Backspace on an empty input removes the last symbol.
 */
export function SymbolPicker({ id, describedBy, invalid, symbols, text, assetClass, status, onTextChange, onSymbolsChange }: SymbolPickerProps) {
  const listId = useId();
  const [open, setOpen] = useState(false);
  const [highlight, setHighlight] = useState(-1);
  const search = useDebouncedValue(text.trim(), SEARCH_DEBOUNCE_MS);
  const { data: found } = useInstruments(search, assetClass);
  const suggestions = withContinuous(found).filter((i) => !symbols.includes(i.symbol));
  const showList = open && text.trim().length > 0 && suggestions.length > 0;

  const commitText = () => {
    const more = splitSymbols(text);
    if (more.length) onSymbolsChange(addSymbols(symbols, more));
    onTextChange('');
    setHighlight(-1);
  };
  const pick = (symbol: string) => {
    onSymbolsChange(addSymbols(symbols, [symbol]));
    onTextChange('');
    setHighlight(-1);
    setOpen(false);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' && suggestions.length) {
      e.preventDefault();
      setOpen(true);
      setHighlight((h) => Math.min(h + 1, suggestions.length - 1));
    } else if (e.key === 'ArrowUp' && suggestions.length) {
      e.preventDefault();
      setHighlight((h) => Math.max(h - 1, -1));
    } else if (e.key === 'Enter' && showList && highlight >= 0) {
      e.preventDefault();
      pick(suggestions[highlight]!.symbol);
    } else if (e.key === 'Escape') {
      setOpen(false);
      setHighlight(-1);
    } else if ((e.key === ',' || e.key === ' ' || (e.key === 'Tab' && text.trim())) && text.trim()) {
      if (e.key !== 'Tab') e.preventDefault();
      commitText();
    } else if (e.key === 'Backspace' && !text && symbols.length) {
      onSymbolsChange(symbols.slice(0, -1));
    }
  };

  return (
    <div className={`symbol-picker${invalid ? ' symbol-picker--invalid' : ''}`}>
      <ul className="chips" aria-label="Chosen">
        {symbols.map((s) => {
          const st = status[s];
          const state = st === undefined || st === 'checking' ? 'checking' : st.status;
          return (
            <li key={s} className={`chip chip--${state}`} title={st && st !== 'checking' && st.status === 'unknown' ? st.message : undefined}>
              <span>{s}</span>
              {state === 'unknown' ? <span className="chip__flag"> unknown</span> : null}
              <button type="button" aria-label={`Remove ${s}`} onClick={() => onSymbolsChange(symbols.filter((x) => x !== s))}>
                ×
              </button>
            </li>
          );
        })}
      </ul>
      <input
        id={id}
        role="combobox"
        aria-expanded={showList}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-describedby={describedBy}
        aria-invalid={invalid || undefined}
        aria-activedescendant={showList && highlight >= 0 ? `${listId}-${highlight}` : undefined}
        autoComplete="off"
        spellCheck={false}
        placeholder={symbols.length ? 'Add another…' : 'AAPL, ES.v.0, ESZ13…'}
        value={text}
        onChange={(e) => {
          onTextChange(e.target.value);
          setOpen(true);
          setHighlight(-1);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => {
          setOpen(false);
          if (text.trim()) commitText();
        }}
      />
      <ul id={listId} role="listbox" aria-label="Matching instruments" className="suggestions" hidden={!showList}>
        {suggestions.map((i, n) => (
          <li
            key={i.symbol}
            id={`${listId}-${n}`}
            role="option"
            aria-selected={n === highlight}
            className={n === highlight ? 'suggestion suggestion--active' : 'suggestion'}
            onMouseDown={(e) => {
              e.preventDefault();
              pick(i.symbol);
            }}
          >
            <strong>{i.symbol}</strong> <span className="muted">{i.asset_class}</span> <span className="muted">{i.description}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
