import { act, renderHook, waitFor } from '@testing-library/react';

import type { FetchResponse } from '@/lib/api-types';
import { ApiError } from '@/lib/api-client';

import type { FetchProgress, RunSource } from '../api/fetch-bars';
import { useQueryRun, type Runner } from './use-query-run';

const request = { symbols: ['AAPL'], frequency: '1d', start: '2013-01-01' };
const source: RunSource = { kind: 'request', request };
const response: FetchResponse = { data: [], metadata: { total_bars: 252, generated_at: '2026-01-01T00:00:00Z' } };

/** A runner the test finishes by hand; it rejects with AbortError when aborted, like fetch. */
function manualRunner() {
  const pending: { resolve: (r: FetchResponse) => void; reject: (e: unknown) => void; progress: (p: FetchProgress) => void }[] = [];
  const runner: Runner = (_s, { signal, onProgress }) =>
    new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      pending.push({ resolve, reject, progress: onProgress });
    });
  return { runner, pending };
}

describe('useQueryRun', () => {
  it('reports progress while running and the result at the end', async () => {
    const { runner, pending } = manualRunner();
    const { result } = renderHook(() => useQueryRun(runner));
    let done: Promise<unknown>;
    act(() => {
      done = result.current.run(source);
    });
    expect(result.current.state).toMatchObject({ status: 'running', progress: { stage: 'waiting', fraction: null } });
    act(() => pending[0]!.progress({ stage: 'parsing', receivedBytes: 500, totalBytes: 1000 }));
    expect(result.current.state).toMatchObject({ status: 'running', progress: { stage: 'parsing', fraction: 1, receivedBytes: 500 } });
    await act(async () => {
      pending[0]!.resolve(response);
      await done;
    });
    expect(result.current.state).toMatchObject({ status: 'success', result: response, request });
  });

  it('cancels the run in flight', async () => {
    const { runner } = manualRunner();
    const { result } = renderHook(() => useQueryRun(runner));
    let done: Promise<unknown>;
    act(() => {
      done = result.current.run(source);
    });
    await act(async () => {
      result.current.cancel();
      await done;
    });
    expect(result.current.state.status).toBe('cancelled');
  });

  it('keeps only the newest run: starting another cancels the first', async () => {
    const { runner, pending } = manualRunner();
    const { result } = renderHook(() => useQueryRun(runner));
    let first: Promise<{ status: string }>;
    let second: Promise<unknown>;
    act(() => {
      first = result.current.run(source);
    });
    act(() => {
      second = result.current.run({ kind: 'request', request: { ...request, symbols: ['IBM'] } });
    });
    expect((await first!).status).toBe('cancelled');
    await act(async () => {
      pending[1]!.resolve(response);
      await second;
    });
    expect(result.current.state).toMatchObject({ status: 'success', request: { symbols: ['IBM'] } });
  });

  it('reports API errors', async () => {
    const runner: Runner = () => Promise.reject(new ApiError(422, 'result_too_large', 'too many bars'));
    const { result } = renderHook(() => useQueryRun(runner));
    await act(async () => {
      await result.current.run(source);
    });
    await waitFor(() => expect(result.current.state).toMatchObject({ status: 'error', error: { code: 'result_too_large' } }));
  });
});
