// GET frequencies — the standard frequencies offered in the form.
import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest, apiUrl } from '@/lib/api-client';
import type { FrequencyList } from '@/lib/api-types';

export function getFrequencies(signal?: AbortSignal): Promise<FrequencyList> {
  return apiRequest<FrequencyList>(apiUrl('frequencies'), { signal });
}

export const frequenciesQueryOptions = () =>
  queryOptions({ queryKey: ['frequencies'], queryFn: ({ signal }) => getFrequencies(signal), staleTime: Infinity });

export function useFrequencies() {
  return useQuery(frequenciesQueryOptions());
}
