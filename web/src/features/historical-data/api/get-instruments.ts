// GET instruments?search=&asset_class=&limit= — search-as-you-type for the symbol picker.
import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest, apiUrl } from '@/lib/api-client';
import type { Instrument, InstrumentList } from '@/lib/api-types';

export function getInstruments(search: string, assetClass: string, signal?: AbortSignal): Promise<InstrumentList> {
  return apiRequest<InstrumentList>(apiUrl('instruments', { search, asset_class: assetClass, limit: 12 }), { signal });
}

export const instrumentsQueryOptions = (search: string, assetClass: string) =>
  queryOptions({
    queryKey: ['instruments', search, assetClass],
    queryFn: ({ signal }) => getInstruments(search, assetClass, signal),
    staleTime: 5 * 60_000,
  });

/** Instruments matching `search` (nothing is asked while `search` is empty). */
export function useInstruments(search: string, assetClass: string): { data: Instrument[]; isFetching: boolean } {
  const q = useQuery({ ...instrumentsQueryOptions(search, assetClass), enabled: search.trim().length > 0 });
  return { data: q.data?.data ?? [], isFetching: q.isFetching };
}
