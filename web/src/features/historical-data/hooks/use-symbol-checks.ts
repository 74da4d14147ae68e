// Inline validation of symbols against the server, one cached check per symbol.
import { useQueries } from '@tanstack/react-query';
import { useMemo } from 'react';

import { checkSymbol, type SymbolCheck } from '../api/get-instrument';
import type { SymbolFacts } from '../lib/query-params';

export interface SymbolChecks {
  facts: SymbolFacts;
  status: Record<string, 'checking' | SymbolCheck>;
  checking: boolean;
}

export function useSymbolChecks(symbols: string[]): SymbolChecks {
  const results = useQueries({
    queries: symbols.map((s) => ({
      queryKey: ['symbol-check', s],
      queryFn: ({ signal }: { signal: AbortSignal }) => checkSymbol(s, signal),
      staleTime: 5 * 60_000,
    })),
  });
  const key = results.map((r) => `${r.status}:${r.data?.status ?? ''}`).join('|');
  return useMemo(() => {
    const unknown = new Set<string>();
    const futures = new Set<string>();
    const status: SymbolChecks['status'] = {};
    symbols.forEach((s, i) => {
      const r = results[i];
      if (!r?.data) {
        status[s] = 'checking';
        return;
      }
      status[s] = r.data;
      if (r.data.status === 'unknown') unknown.add(s);
      else if (r.data.assetClass === 'future') futures.add(s);
    });
    return { facts: { unknown, futures }, status, checking: results.some((r) => r.isPending) };
    // `key` summarises `results`, which is a new array on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [symbols, key]);
}
