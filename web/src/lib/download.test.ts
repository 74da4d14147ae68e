import { vi } from 'vitest';

import { ApiError } from './api-client';
import { downloadFile, fileNameFromDisposition } from './download';
import { setToken } from './token';

describe('fileNameFromDisposition', () => {
  it.each([
    ['attachment; filename="AAPL_1d.csv"', 'AAPL_1d.csv'],
    ['attachment; filename=AAPL_1d.csv', 'AAPL_1d.csv'],
    ['attachment; filename="a \\"b\\".csv"', 'a "b".csv'],
    ["attachment; filename=\"plain.csv\"; filename*=UTF-8''caf%C3%A9.csv", 'café.csv'],
    ['attachment', null],
    [null, null],
  ])('%s -> %s', (header, name) => {
    expect(fileNameFromDisposition(header)).toBe(name);
  });
});

describe('downloadFile', () => {
  const url = '/api/v1/historical-data/export?format=csv&symbols=AAPL';

  function spyLinks() {
    const clicked: { href: string; download: string }[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.getAttribute('href') ?? '', download: this.download });
    });
    return clicked;
  }

  const { createObjectURL, revokeObjectURL } = URL;
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    Object.assign(URL, { createObjectURL, revokeObjectURL });
  });

  it('follows a plain link without a token', async () => {
    const fetchMock = vi.fn();
    vi.stubGlobal('fetch', fetchMock);
    const clicked = spyLinks();
    await downloadFile(url, 'export.csv');
    expect(fetchMock).not.toHaveBeenCalled();
    expect(clicked).toEqual([{ href: url, download: '' }]);
  });

  it('fetches with the token and saves the blob under the server name', async () => {
    setToken('ta_secret');
    const fetchMock = vi.fn(async () => new Response('ts,open\n', { headers: { 'content-disposition': 'attachment; filename="AAPL_1d.csv"' } }));
    vi.stubGlobal('fetch', fetchMock);
    const createObjectURL = vi.fn((_blob: Blob) => 'blob:http://localhost/1');
    URL.createObjectURL = createObjectURL;
    URL.revokeObjectURL = vi.fn();
    const clicked = spyLinks();
    await downloadFile(url, 'export.csv');
    const init = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(init[0]).toBe(url);
    expect(new Headers(init[1].headers).get('Authorization')).toBe('Bearer ta_secret');
    expect(await createObjectURL.mock.calls[0]![0].text()).toBe('ts,open\n');
    expect(clicked).toEqual([{ href: 'blob:http://localhost/1', download: 'AAPL_1d.csv' }]);
  });

  it('rejects with the API error and saves nothing when the token is refused', async () => {
    setToken('ta_revoked');
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'unknown or revoked token', details: {} } }), { status: 401 })));
    const clicked = spyLinks();
    const error = await downloadFile(url, 'export.csv').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'unauthorized' });
    expect(clicked).toEqual([]);
  });
});
