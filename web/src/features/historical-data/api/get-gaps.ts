// GET gaps — gap report of a result series' stored base data (plain symbols only).
import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest, apiUrl } from '@/lib/api-client';
import type { GapReport, Series } from '@/lib/api-types';

import { parseContinuous } from '../lib/query-params';

export function getGaps(series: Pick<Series, 'symbol' | 'base_frequency' | 'start' | 'end' | 'session'>, signal?: AbortSignal): Promise<GapReport> {
  return apiRequest<GapReport>(
    apiUrl('gaps', { symbol: series.symbol, frequency: series.base_frequency, start: series.start, end: series.end, session: series.session }),
    { signal },
  );
}

export const gapsQueryOptions = (series: Series) =>
  queryOptions({
    queryKey: ['gaps', series.symbol, series.base_frequency, series.start, series.end, series.session],
    queryFn: ({ signal }) => getGaps(series, signal),
    staleTime: 5 * 60_000,
  });

/** The gap report of `series`; continuous futures have none (their contracts do). */
export function useGaps(series: Series | undefined) {
  const enabled = series !== undefined && parseContinuous(series.symbol) === null;
  return useQuery({ ...gapsQueryOptions(series as Series), enabled });
}
