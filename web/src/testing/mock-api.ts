// A fetch stand-in for component tests: routes by method and path, records every call.
import { vi } from 'vitest';

export interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

export interface Route {
  method?: string;
  path: string | RegExp;
  reply: (call: Call) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>;
}

export function mockApi(routes: Route[]) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://localhost');
    const method = (init?.method ?? 'GET').toUpperCase();
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const call = { method, url, headers: new Headers(init?.headers), body };
    calls.push(call);
    if (init?.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const route = routes.find((r) => (r.method ?? 'GET') === method && (typeof r.path === 'string' ? url.pathname === r.path : r.path.test(url.pathname)));
    if (!route) {
      return new Response(JSON.stringify({ error: { code: 'not_found', message: 'no such endpoint', details: {} } }), { status: 404 });
    }
    const r = await route.reply(call);
    const status = r.status ?? 200;
    return new Response(status === 204 ? null : JSON.stringify(r.body ?? {}), { status, headers: { 'content-type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { calls, fetchMock };
}

export const API = '/api/v1/historical-data';
