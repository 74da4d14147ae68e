// POST fetch and POST queries/{id}/run — bars, read as a stream so the caller sees how much
// of the answer has arrived (the REST stand-in for job progress until jobs exist).
import { apiFetch, apiUrl } from '@/lib/api-client';
import type { FetchRequest, FetchResponse } from '@/lib/api-types';

/** What to run: a fetch document, or a saved query by id (which records its last run). */
export type RunSource = { kind: 'request'; request: FetchRequest } | { kind: 'saved'; id: number; request: FetchRequest };

export type FetchStage = 'waiting' | 'downloading' | 'parsing';

export interface FetchProgress {
  stage: FetchStage;
  receivedBytes: number;
  /** From Content-Length; null when the server does not say. */
  totalBytes: number | null;
}

export interface FetchOptions {
  signal?: AbortSignal;
  onProgress?: (p: FetchProgress) => void;
}

async function readBody(res: Response, onProgress?: (p: FetchProgress) => void): Promise<string> {
  const total = Number(res.headers.get('content-length')) || null;
  if (!res.body) {
    const text = await res.text();
    onProgress?.({ stage: 'parsing', receivedBytes: text.length, totalBytes: total });
    return text;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let received = 0;
  onProgress?.({ stage: 'downloading', receivedBytes: 0, totalBytes: total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    parts.push(decoder.decode(value, { stream: true }));
    onProgress?.({ stage: 'downloading', receivedBytes: received, totalBytes: total });
  }
  parts.push(decoder.decode());
  onProgress?.({ stage: 'parsing', receivedBytes: received, totalBytes: total });
  return parts.join('');
}

/** Runs `source` and resolves to the bars; rejects with `ApiError` or an `AbortError`. */
export async function fetchBars(source: RunSource, options: FetchOptions = {}): Promise<FetchResponse> {
  const url = source.kind === 'saved' ? apiUrl(`queries/${source.id}/run`) : apiUrl('fetch');
  options.onProgress?.({ stage: 'waiting', receivedBytes: 0, totalBytes: null });
  const res = await apiFetch(url, {
    method: 'POST',
    headers: source.kind === 'saved' ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: source.kind === 'saved' ? undefined : JSON.stringify(source.request),
    signal: options.signal,
  });
  const text = await readBody(res, options.onProgress);
  return JSON.parse(text) as FetchResponse;
}
