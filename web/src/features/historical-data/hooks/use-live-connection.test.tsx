import { act, renderHook } from '@testing-library/react';
import { vi } from 'vitest';

import { clearToken, setToken } from '@/lib/token';

import { useLiveConnection, wsUrl } from './use-live-connection';

/** Records every socket the hook opens; the test opens or closes them by hand. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readonly url: string;
  closed = false;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(url: string) {
    this.url = url;
    FakeSocket.all.push(this);
  }
  close() {
    this.closed = true;
  }
}

describe('wsUrl', () => {
  it.each([
    [null, { protocol: 'http:', host: 'localhost:8080' }, 'ws://localhost:8080/ws'],
    ['ta_abc', { protocol: 'http:', host: 'localhost:8080' }, 'ws://localhost:8080/ws?token=ta_abc'],
    ['ta_a+b/c=&d', { protocol: 'https:', host: 'example.com' }, 'wss://example.com/ws?token=ta_a%2Bb%2Fc%3D%26d'],
  ])('token %s on %o -> %s', (token, location, url) => {
    expect(wsUrl(token, location)).toBe(url);
  });
});

describe('useLiveConnection', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.stubGlobal('WebSocket', FakeSocket);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('connects without a token when none is set', () => {
    renderHook(() => useLiveConnection(true));
    expect(FakeSocket.all.map((s) => s.url)).toEqual([`ws://${window.location.host}/ws`]);
  });

  it('puts the token in the URL and reconnects when it changes', () => {
    setToken('ta_first');
    const { result } = renderHook(() => useLiveConnection(true));
    expect(FakeSocket.all).toHaveLength(1);
    expect(FakeSocket.all[0]!.url).toBe(`ws://${window.location.host}/ws?token=ta_first`);
    act(() => FakeSocket.all[0]!.onopen?.());
    expect(result.current).toBe('connected');

    act(() => setToken('ta_second'));
    expect(FakeSocket.all[0]!.closed).toBe(true);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.all[1]!.url).toBe(`ws://${window.location.host}/ws?token=ta_second`);
    expect(result.current).toBe('connecting');

    act(() => clearToken());
    expect(FakeSocket.all[1]!.closed).toBe(true);
    expect(FakeSocket.all[2]!.url).toBe(`ws://${window.location.host}/ws`);
  });
});
