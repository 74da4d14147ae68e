// The one HTTP client of the UI: same-origin JSON requests, errors mapped from the API's
// error shape `{ "error": { "code", "message", "details" } }`.

export const API_BASE = '/api/v1/historical-data';

/** An error answered by the API (or a network failure, code `network`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** True for an error caused by `AbortController.abort()`. */
export function isAbortError(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

type QueryValue = string | number | boolean | undefined | null;

/** `path` under the API base with the defined query parameters appended. */
export function apiUrl(path: string, params: Record<string, QueryValue | QueryValue[]> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (v !== undefined && v !== null && v !== '') search.append(key, String(v));
    }
  }
  const qs = search.toString();
  return `${API_BASE}/${path.replace(/^\//, '')}${qs ? `?${qs}` : ''}`;
}

/** Turns a non-2xx response into an `ApiError` (reads the body). */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // The body could not be read; fall back to the status line.
  }
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; details?: Record<string, unknown> } };
    if (body.error?.message) {
      return new ApiError(res.status, body.error.code ?? 'error', body.error.message, body.error.details ?? {});
    }
  } catch {
    // Not the API's JSON error shape.
  }
  return new ApiError(res.status, 'http_error', `${res.status} ${res.statusText || 'request failed'}`.trim());
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

/** A JSON request; resolves to the parsed body (`undefined` for 204). */
export async function apiRequest<T>(url: string, options: RequestOptions = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (e) {
    if (isAbortError(e)) throw e;
    throw new ApiError(0, 'network', `The server did not answer (${(e as Error).message})`);
  }
  if (!res.ok) throw await errorFromResponse(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}
