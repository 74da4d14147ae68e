// The WebSocket connection indicator. `/ws` may not exist on this server yet: then the socket
// fails before it opens and the indicator says "unavailable"; it retries with backoff, so it
// turns "connected" once a server with `/ws` answers.
import { useEffect, useState } from 'react';

export type LiveStatus = 'connecting' | 'connected' | 'offline' | 'unavailable';

const MAX_BACKOFF_MS = 60_000;

function wsUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}/ws`;
}

export function useLiveConnection(enabled = typeof WebSocket !== 'undefined'): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>(enabled ? 'connecting' : 'unavailable');

  useEffect(() => {
    if (!enabled) return;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let backoff = 5_000;
    let stopped = false;

    const connect = () => {
      let opened = false;
      try {
        socket = new WebSocket(wsUrl());
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
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, [enabled]);

  return status;
}
