import { useLiveConnection, type LiveStatus } from '../hooks/use-live-connection';

const TEXT: Record<LiveStatus, string> = {
  connecting: 'Live: connecting…',
  connected: 'Live: connected',
  offline: 'Live: offline (reconnecting)',
  unavailable: 'Live: unavailable',
};

const TITLE: Record<LiveStatus, string> = {
  connecting: 'Opening the WebSocket connection',
  connected: 'WebSocket connected: live updates and job progress arrive here',
  offline: 'The WebSocket connection dropped; retrying',
  unavailable: 'The WebSocket did not open (no /ws endpoint, or no valid API token); queries run over REST',
};

/** The WebSocket connection state, shown in the header. */
export function ConnectionIndicator() {
  const status = useLiveConnection();
  return (
    <span className={`live live--${status}`} role="status" aria-label={`WebSocket connection: ${status}`} title={TITLE[status]} data-status={status}>
      <span className="live__dot" aria-hidden="true" />
      {TEXT[status]}
    </span>
  );
}
