// GET export?format=&<fetch parameters> — the streaming export endpoint. The browser
// downloads it directly, or with an API token through `downloadFile` (the page never builds
// the file; with a token it holds the bytes until they are saved). Whether the server has it is
// read from its OpenAPI document, so the control works as soon as the endpoint exists.
import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest, apiUrl } from '@/lib/api-client';
import type { FetchRequest } from '@/lib/api-types';

export type ExportFormat = 'csv' | 'ndjson' | 'parquet';

export const EXPORT_PATH = '/api/v1/historical-data/export';

/** The export URL of a fetch document: its fields as query parameters (lists repeated). */
export function exportUrl(request: FetchRequest, format: ExportFormat): string {
  const params: Record<string, string | number | boolean | string[]> = { format };
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined || value === null || value === false) continue;
    if (Array.isArray(value)) {
      if (value.length) params[key] = value.map(String);
    } else {
      params[key] = value as string | number | boolean;
    }
  }
  return apiUrl('export', params);
}

interface OpenApiDoc {
  paths?: Record<string, unknown>;
}

export const apiPathsQueryOptions = () =>
  queryOptions({
    queryKey: ['openapi-paths'],
    queryFn: async ({ signal }) => Object.keys((await apiRequest<OpenApiDoc>('/api/openapi.json', { signal })).paths ?? {}),
    staleTime: Infinity,
  });

/** True once the server documents the export endpoint; undefined while unknown. */
export function useExportAvailable(): boolean | undefined {
  const q = useQuery(apiPathsQueryOptions());
  return q.data ? q.data.includes(EXPORT_PATH) : q.isError ? false : undefined;
}
