// The WebSocket connection indicator. `/ws` may not exist on this server yet: then the socket
// fails before it opens and the indicator says "unavailable"; it retries with backoff, so it
// turns "connected" once a server with `/ws` answers. A browser cannot set headers on a
// WebSocket, so the API token rides in the URL (`/ws?token=...`); a new token reconnects.
import { useEffect, useState } from 'react';

import { useToken } from '@/lib/token';

export type LiveStatus = 'connecting' | 'connected' | 'offline' | 'unavailable';

const MAX_BACKOFF_MS = 60_000;

/** The `/ws` URL of this origin, with `token` as the `token` query parameter when set. */
export function wsUrl(token: string | null, location: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  return token ? `${base}?token=${encodeURIComponent(token)}` : base;
}

export function useLiveConnection(enabled = typeof WebSocket !== 'undefined'): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>(enabled ? 'connecting' : 'unavailable');
  const token = useToken();

  useEffect(() => {
    if (!enabled) return;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let backoff = 5_000;
    let stopped = false;
    const url = wsUrl(token);

    const connect = () => {
      let opened = false;
      try {
        socket = new WebSocket(url);
      } catch {
        setStatus('unavailable');
        return;
      }
      socket.onopen = () => {
        opened = true;
        backoff = 5_000;
        setStatus('connected');
      };
      socket.onclose = () => {
        if (stopped) return;
        setStatus(opened ? 'offline' : 'unavailable');
        timer = setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      };
    };
    setStatus('connecting');
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, [enabled, token]);

  return status;
}
