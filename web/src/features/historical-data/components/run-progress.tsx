import { useEffect, useState } from 'react';

import { ProgressBar } from '@/components/ui/progress-bar';
import { formatBytes, formatCount, formatDuration } from '@/lib/format';

import type { RunState } from '../hooks/use-query-run';

const STAGE_TEXT = { waiting: 'Waiting for the server', downloading: 'Receiving bars', parsing: 'Reading bars' } as const;

function Elapsed({ since }: { since: number }) {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    const id = setInterval(() => setNow(performance.now()), 100);
    return () => clearInterval(id);
  }, []);
  return <span className="elapsed">{formatDuration(Math.max(0, now - since))}</span>;
}

/**
 * The state of the last run in a slot of fixed height (no layout shift): progress with stage,
 * percent, bars and elapsed time while running; the outcome afterwards.
 */
export function RunProgress({ state }: { state: RunState }) {
  let body: React.ReactNode;
  switch (state.status) {
    case 'idle':
      body = <span className="muted">Choose symbols, a frequency and a range, then run the query.</span>;
      break;
    case 'running': {
      const p = state.progress;
      const pct = p.fraction === null ? null : Math.round(p.fraction * 100);
      body = (
        <>
          <div className="run-status__line">
            <strong>{STAGE_TEXT[p.stage]}</strong>
            {pct !== null ? <span> · {pct}%</span> : null}
            {p.bars !== null ? <span> · {formatCount(p.bars)} bars</span> : null}
            {p.receivedBytes ? <span className="muted"> · {formatBytes(p.receivedBytes)}</span> : null}
            <span className="muted"> · </span>
            <Elapsed since={state.startedAt} />
          </div>
          <ProgressBar fraction={p.fraction} label="Query progress" />
        </>
      );
      break;
    }
    case 'success':
      body = (
        <span>
          Done: {formatCount(state.result.metadata.total_bars)} bars in {state.result.data.length} series, {formatDuration(state.elapsedMs)}
        </span>
      );
      break;
    case 'cancelled':
      body = <span>Cancelled after {formatDuration(state.elapsedMs)}. Nothing was changed.</span>;
      break;
    case 'error':
      body = (
        <span className="error-text">
          Failed ({state.error.code}): {state.error.message}
        </span>
      );
      break;
  }
  return (
    <div className={`run-status run-status--${state.status}`} data-status={state.status} aria-live="polite" aria-busy={state.status === 'running'}>
      {body}
    </div>
  );
}
