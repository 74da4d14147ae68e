import { API, mockApi } from '@/testing/mock-api';

import { fetchBars } from '@/features/historical-data/api/fetch-bars';

import { ApiError, apiRequest, apiUrl } from './api-client';
import { isUnauthorized, setToken, TOKEN_STORAGE_KEY } from './token';

const unauthorized = { status: 401, body: { error: { code: 'unauthorized', message: 'this route needs an API token', details: {} } } };

describe('apiRequest and the API token', () => {
  it('sends the stored token as a bearer token', async () => {
    const { calls } = mockApi([{ path: `${API}/frequencies`, reply: () => ({ body: { data: [] } }) }]);
    localStorage.setItem(TOKEN_STORAGE_KEY, 'ta_secret');
    await apiRequest(apiUrl('frequencies'));
    expect(calls[0]!.headers.get('Authorization')).toBe('Bearer ta_secret');
    expect(calls[0]!.headers.get('Accept')).toBe('application/json');
  });

  it('sends no Authorization header without a token', async () => {
    const { calls } = mockApi([{ path: `${API}/frequencies`, reply: () => ({ body: { data: [] } }) }]);
    await apiRequest(apiUrl('frequencies'));
    expect(calls[0]!.headers.has('Authorization')).toBe(false);
  });

  it('sends the token on bar fetches too', async () => {
    const { calls } = mockApi([{ method: 'POST', path: `${API}/fetch`, reply: () => ({ body: { data: [], metadata: {} } }) }]);
    setToken('ta_bars');
    await fetchBars({ kind: 'request', request: { symbols: ['AAPL'], frequency: '1d', start: '2013-01-01' } });
    expect(calls[0]!.headers.get('Authorization')).toBe('Bearer ta_bars');
    expect(calls[0]!.headers.get('Content-Type')).toBe('application/json');
  });

  it('turns a 401 into ApiError `unauthorized` and records it', async () => {
    mockApi([{ path: `${API}/frequencies`, reply: () => unauthorized }]);
    expect(isUnauthorized()).toBe(false);
    const error = await apiRequest(apiUrl('frequencies')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized', message: 'this route needs an API token' });
    expect(isUnauthorized()).toBe(true);
    setToken('ta_new');
    expect(isUnauthorized()).toBe(false);
  });

  it('keeps the code of a 403 and does not ask for a token', async () => {
    mockApi([{ method: 'POST', path: `${API}/queries/save`, reply: () => ({ status: 403, body: { error: { code: 'forbidden', message: 'needs the write role', details: {} } } }) }]);
    const error = await apiRequest(apiUrl('queries/save'), { method: 'POST', body: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, code: 'forbidden' });
    expect(isUnauthorized()).toBe(false);
  });

  it.each([
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [500, 'http_error'],
  ])('names a %i without the JSON error body %s', async (status, code) => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>no</html>', { status })));
    await expect(apiRequest(apiUrl('frequencies'))).rejects.toMatchObject({ status, code });
  });
});
