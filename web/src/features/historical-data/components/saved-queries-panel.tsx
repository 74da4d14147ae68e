import { useMemo, useState } from 'react';

import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { useNotify } from '@/components/ui/notifications';
import { useDebouncedValue } from '@/hooks/use-debounced-value';
import type { SavedQuery } from '@/lib/api-types';

import { useDeleteQuery, useSavedQueries } from '../api/saved-queries';
import { describeRequest } from '../lib/query-params';

export const SAVED_SEARCH_DEBOUNCE_MS = 250;

interface SavedQueriesPanelProps {
  onRun: (q: SavedQuery) => void;
  onEdit: (q: SavedQuery) => void;
}

function when(ts: string | null | undefined): string {
  return ts ? ts.replace('T', ' ').replace(/:\d\dZ$/, ' UTC') : 'never';
}

/** Saved queries: search (server side, debounced), filter by frequency, run, edit, delete. */
export function SavedQueriesPanel({ onRun, onEdit }: SavedQueriesPanelProps) {
  const [search, setSearch] = useState('');
  const [frequency, setFrequency] = useState('');
  const [ran, setRan] = useState<'' | 'ran' | 'never'>('');
  const debounced = useDebouncedValue(search, SAVED_SEARCH_DEBOUNCE_MS);
  const list = useSavedQueries(debounced);
  const remove = useDeleteQuery();
  const notify = useNotify();
  const [confirming, setConfirming] = useState<SavedQuery | null>(null);

  const all = list.data?.data ?? [];
  const frequencies = useMemo(() => [...new Set(all.map((q) => q.parameters.frequency))].sort(), [all]);
  const shown = all.filter((q) => (!frequency || q.parameters.frequency === frequency) && (!ran || (ran === 'ran' ? q.last_run_at : !q.last_run_at)));

  const confirmDelete = async () => {
    if (!confirming) return;
    const q = confirming;
    try {
      await remove.mutateAsync(q.id);
      notify({ kind: 'success', title: `Deleted “${q.name}”` });
    } catch (e) {
      notify({ kind: 'error', title: 'Delete failed', message: (e as Error).message });
    } finally {
      setConfirming(null);
    }
  };

  return (
    <section className="saved" aria-label="Saved queries">
      <div className="saved__toolbar">
        <label>
          Search <input type="search" aria-label="Search saved queries" placeholder="name or description" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label>
          Frequency{' '}
          <select aria-label="Interval filter" value={frequency} onChange={(e) => setFrequency(e.target.value)}>
            <option value="">Any</option>
            {frequencies.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <label>
          Last run{' '}
          <select aria-label="Filter by last run" value={ran} onChange={(e) => setRan(e.target.value as typeof ran)}>
            <option value="">Any</option>
            <option value="ran">Has run</option>
            <option value="never">Never run</option>
          </select>
        </label>
        <span className="muted" aria-live="polite">
          {list.isFetching ? 'Searching…' : `${shown.length} saved ${shown.length === 1 ? 'query' : 'queries'}`}
        </span>
      </div>
      {list.isError ? <p className="error-text">Could not load saved queries: {(list.error as Error).message}</p> : null}
      {shown.length === 0 && !list.isPending ? <p className="muted">No saved queries{search ? ` match “${search}”` : ' yet: save one from the New Query tab'}.</p> : null}
      <ul className="saved__list" aria-label="Saved query list">
        {shown.map((q) => (
          <li key={q.id} className="saved__item">
            <div>
              <h3>{q.name}</h3>
              {q.description ? <p>{q.description}</p> : null}
              <p className="muted">{describeRequest(q.parameters)}</p>
              <p className="muted">
                Last run: {when(q.last_run_at)} · updated {when(q.updated_at)}
              </p>
            </div>
            <div className="saved__actions">
              <button type="button" className="primary" aria-label={`Run saved ${q.name}`} onClick={() => onRun(q)}>
                Run
              </button>
              <button type="button" aria-label={`Edit ${q.name}`} onClick={() => onEdit(q)}>
                Edit
              </button>
              <button type="button" className="danger" aria-label={`Delete ${q.name}`} onClick={() => setConfirming(q)}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      {confirming ? (
        <ConfirmDialog
          title="Delete saved query?"
          message={`“${confirming.name}” will be deleted. This cannot be undone.`}
          confirmLabel="Confirm delete"
          cancelLabel="Keep it"
          busy={remove.isPending}
          onConfirm={() => void confirmDelete()}
          onCancel={() => setConfirming(null)}
        />
      ) : null}
    </section>
  );
}
