// Lazy loading of older bars: when the chart is scrolled past its first bar, fetch the window
// of the same length just before it (same parameters, explicit instants) and prepend it.
import { useCallback, useEffect, useRef, useState } from 'react';

import { apiRequest, apiUrl } from '@/lib/api-client';
import type { Bar, FetchRequest, FetchResponse, Series } from '@/lib/api-types';
import { parseInstant, toRfc3339 } from '@/lib/format';

export interface OlderBars {
  /** Older bars loaded so far, oldest first (to be put before the series' own bars). */
  older: Bar[];
  loading: boolean;
  /** True when a window came back empty: nothing older is stored. */
  exhausted: boolean;
  loadOlder: () => void;
}

const MIN_WINDOW_SECONDS = 86_400;
const MAX_ATTEMPTS = 3;

export function useOlderBars(series: Series | undefined, request: FetchRequest | undefined): OlderBars {
  const [older, setOlder] = useState<Bar[]>([]);
  const [loading, setLoading] = useState(false);
  const [exhausted, setExhausted] = useState(false);
  const inFlight = useRef<AbortController | null>(null);

  useEffect(() => {
    inFlight.current?.abort();
    inFlight.current = null;
    setOlder([]);
    setLoading(false);
    setExhausted(false);
  }, [series, request]);

  const loadOlder = useCallback(() => {
    if (!series || !request || inFlight.current || exhausted) return;
    const first = older[0] ?? series.bars[0];
    const end = first ? parseInstant(first.ts) : parseInstant(series.start);
    const span = Math.max(MIN_WINDOW_SECONDS, parseInstant(series.end) - parseInstant(series.start));
    const ctrl = new AbortController();
    inFlight.current = ctrl;
    setLoading(true);
    const windowBefore = async (): Promise<Bar[]> => {
      // An empty window may be a holiday stretch: widen it a few times before giving up.
      for (let attempt = 0, width = span; attempt < MAX_ATTEMPTS; attempt++, width *= 4) {
        const body: FetchRequest = { ...request, symbols: [series.symbol], start: toRfc3339(end - width), end: toRfc3339(end) };
        delete body.preset;
        delete body.as_of;
        const res = await apiRequest<FetchResponse>(apiUrl('fetch'), { method: 'POST', body, signal: ctrl.signal });
        const bars = (res.data[0]?.bars ?? []).filter((b) => parseInstant(b.ts) < end);
        if (bars.length > 0) return bars;
      }
      return [];
    };
    windowBefore()
      .then((bars) => {
        if (bars.length === 0) setExhausted(true);
        else setOlder((prev) => [...bars, ...prev]);
      })
      .catch(() => {
        if (!ctrl.signal.aborted) setExhausted(true);
      })
      .finally(() => {
        if (inFlight.current === ctrl) {
          inFlight.current = null;
          setLoading(false);
        }
      });
  }, [series, request, older, exhausted]);

  return { older, loading, exhausted, loadOlder };
}
