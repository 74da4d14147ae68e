// The one place that knows how a query runs. Today: one REST request, read as a stream (stage,
// bytes, elapsed time), cancelled with an AbortController. When jobs and WebSocket progress
// exist, this hook switches to them; its state shape (stage, percent, bars, elapsed) stays.
import { useCallback, useEffect, useRef, useState } from 'react';

import { ApiError, isAbortError } from '@/lib/api-client';
import type { FetchRequest, FetchResponse } from '@/lib/api-types';

import { fetchBars, type FetchProgress, type RunSource } from '../api/fetch-bars';

export interface RunProgress {
  stage: 'waiting' | 'downloading' | 'parsing';
  /** 0..1 when known. */
  fraction: number | null;
  /** Bars received so far, when the transport says (jobs will). */
  bars: number | null;
  receivedBytes: number;
}

export type RunState =
  | { status: 'idle' }
  | { status: 'running'; runId: number; request: FetchRequest; startedAt: number; progress: RunProgress }
  | { status: 'success'; runId: number; request: FetchRequest; result: FetchResponse; elapsedMs: number }
  | { status: 'error'; runId: number; request: FetchRequest; error: ApiError; elapsedMs: number }
  | { status: 'cancelled'; runId: number; request: FetchRequest; elapsedMs: number };

export interface QueryRun {
  state: RunState;
  /** Starts `source`, cancelling a run still in flight. Resolves when it ends. */
  run: (source: RunSource) => Promise<RunState>;
  /** Cancels the run in flight (no-op otherwise). */
  cancel: () => void;
}

export type Runner = (source: RunSource, options: { signal: AbortSignal; onProgress: (p: FetchProgress) => void }) => Promise<FetchResponse>;

const PROGRESS_INTERVAL_MS = 100;

function toProgress(p: FetchProgress): RunProgress {
  return {
    stage: p.stage,
    fraction: p.stage === 'parsing' ? 1 : p.totalBytes ? Math.min(1, p.receivedBytes / p.totalBytes) : null,
    bars: null,
    receivedBytes: p.receivedBytes,
  };
}

/** Runs queries one at a time with progress and cancel. `runner` is replaceable in tests. */
export function useQueryRun(runner: Runner = fetchBars): QueryRun {
  const [state, setState] = useState<RunState>({ status: 'idle' });
  const controller = useRef<AbortController | null>(null);
  const runCounter = useRef(0);
  const cancelled = useRef(false);

  useEffect(() => () => controller.current?.abort(), []);

  const run = useCallback(
    async (source: RunSource): Promise<RunState> => {
      controller.current?.abort();
      const ctrl = new AbortController();
      controller.current = ctrl;
      cancelled.current = false;
      const runId = ++runCounter.current;
      const request = source.request;
      const startedAt = performance.now();
      let lastReport = 0;
      const initial: RunState = { status: 'running', runId, request, startedAt, progress: { stage: 'waiting', fraction: null, bars: null, receivedBytes: 0 } };
      setState(initial);
      const onProgress = (p: FetchProgress) => {
        const now = performance.now();
        if (p.stage === 'downloading' && now - lastReport < PROGRESS_INTERVAL_MS) return;
        lastReport = now;
        if (runId !== runCounter.current) return;
        setState((s) => (s.status === 'running' && s.runId === runId ? { ...s, progress: toProgress(p) } : s));
      };
      let next: RunState;
      try {
        const result = await runner(source, { signal: ctrl.signal, onProgress });
        next = { status: 'success', runId, request, result, elapsedMs: performance.now() - startedAt };
      } catch (e) {
        const elapsedMs = performance.now() - startedAt;
        if (isAbortError(e) || ctrl.signal.aborted) {
          next = { status: 'cancelled', runId, request, elapsedMs };
        } else {
          const error = e instanceof ApiError ? e : new ApiError(0, 'client', (e as Error).message);
          next = { status: 'error', runId, request, error, elapsedMs };
        }
      }
      if (runId === runCounter.current) {
        controller.current = null;
        setState(next);
      }
      return next;
    },
    [runner],
  );

  const cancel = useCallback(() => {
    if (controller.current) {
      cancelled.current = true;
      controller.current.abort();
    }
  }, []);

  return { state, run, cancel };
}
