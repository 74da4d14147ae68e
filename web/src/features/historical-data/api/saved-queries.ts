// Saved queries: GET queries?search=, POST queries/save, PUT queries/{id}, DELETE queries/{id}.
// (Running one is `runSavedQuery` in fetch-bars.ts, since it answers bars.)
import { keepPreviousData, queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { apiRequest, apiUrl } from '@/lib/api-client';
import type { SaveQueryRequest, SavedQuery, SavedQueryList } from '@/lib/api-types';

export function getSavedQueries(search: string, signal?: AbortSignal): Promise<SavedQueryList> {
  return apiRequest<SavedQueryList>(apiUrl('queries', { search: search.trim() }), { signal });
}

export const savedQueriesQueryOptions = (search: string) =>
  queryOptions({ queryKey: ['saved-queries', search.trim()], queryFn: ({ signal }) => getSavedQueries(search, signal), staleTime: 0 });

export function useSavedQueries(search: string) {
  // While a new search runs, the previous list stays (no flicker to an empty list).
  return useQuery({ ...savedQueriesQueryOptions(search), placeholderData: keepPreviousData });
}

export function saveQuery(body: SaveQueryRequest): Promise<SavedQuery> {
  return apiRequest<SavedQuery>(apiUrl('queries/save'), { method: 'POST', body });
}

export function updateQuery(id: number, body: SaveQueryRequest): Promise<SavedQuery> {
  return apiRequest<SavedQuery>(apiUrl(`queries/${id}`), { method: 'PUT', body });
}

export function deleteQuery(id: number): Promise<void> {
  return apiRequest<void>(apiUrl(`queries/${id}`), { method: 'DELETE' });
}

function useInvalidateSaved() {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: ['saved-queries'] });
}

export function useSaveQuery() {
  const invalidate = useInvalidateSaved();
  return useMutation({ mutationFn: saveQuery, onSuccess: invalidate });
}

export function useUpdateQuery() {
  const invalidate = useInvalidateSaved();
  return useMutation({ mutationFn: ({ id, body }: { id: number; body: SaveQueryRequest }) => updateQuery(id, body), onSuccess: invalidate });
}

export function useDeleteQuery() {
  const invalidate = useInvalidateSaved();
  return useMutation({ mutationFn: deleteQuery, onSuccess: invalidate });
}
