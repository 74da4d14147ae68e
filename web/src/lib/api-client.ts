// The one HTTP client of the UI: same-origin requests carrying the API token when one is
// stored (`Authorization: Bearer ...`), errors mapped from the API's error shape
// `{ "error": { "code", "message", "details" } }` (401 `unauthorized`, 403 `forbidden`, ...).
import { getToken, reportUnauthorized } from './token';

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
  return new ApiError(res.status, STATUS_CODES[res.status] ?? 'http_error', `${res.status} ${res.statusText || 'request failed'}`.trim());
}

/** Codes for answers without the API's error body (a proxy in between, say). */
const STATUS_CODES: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden' };

/**
 * `fetch` with the stored API token; resolves to a 2xx response and rejects with `ApiError`
 * (a non-2xx answer, or code `network`) or an `AbortError`. Every request of the UI goes here.
 */
export async function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = getToken();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers });
  } catch (e) {
    if (isAbortError(e)) throw e;
    throw new ApiError(0, 'network', `The server did not answer (${(e as Error).message})`);
  }
  if (res.status === 401) reportUnauthorized();
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

/** A JSON request; resolves to the parsed body (`undefined` for 204). */
export async function apiRequest<T>(url: string, options: RequestOptions = {}): Promise<T> {
  const res = await apiFetch(url, {
    method: options.method ?? 'GET',
    headers: options.body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}
