import { useEffect, useState, type FormEvent } from 'react';

import { useNotify } from '@/components/ui/notifications';
import { ApiError } from '@/lib/api-client';
import type { FetchRequest, SavedQuery } from '@/lib/api-types';

import { useSaveQuery, useUpdateQuery } from '../api/saved-queries';

export interface Editing {
  id: number;
  name: string;
  description: string;
}

interface SaveQueryFormProps {
  /** The current form as a fetch document; undefined while the form is invalid. */
  request: FetchRequest | undefined;
  editing: Editing | null;
  onSaved: (saved: SavedQuery) => void;
  onStopEditing: () => void;
}

/** Save the current query under a name (or update the saved query being edited). */
export function SaveQueryForm({ request, editing, onSaved, onStopEditing }: SaveQueryFormProps) {
  const [name, setName] = useState(editing?.name ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const [error, setError] = useState<string | null>(null);
  const save = useSaveQuery();
  const update = useUpdateQuery();
  const notify = useNotify();

  useEffect(() => {
    setName(editing?.name ?? '');
    setDescription(editing?.description ?? '');
    setError(null);
  }, [editing]);

  const submit = async (asNew: boolean) => {
    if (!name.trim()) {
      setError('Give the query a name');
      return;
    }
    if (!request) {
      setError('Fix the query form first');
      return;
    }
    setError(null);
    const body = { name: name.trim(), description: description.trim(), parameters: request };
    try {
      const saved = editing && !asNew ? await update.mutateAsync({ id: editing.id, body }) : await save.mutateAsync(body);
      notify({ kind: 'success', title: editing && !asNew ? `Updated “${saved.name}”` : `Saved “${saved.name}”` });
      onSaved(saved);
      if (!editing || asNew) {
        setName('');
        setDescription('');
      }
    } catch (e) {
      const msg = e instanceof ApiError ? (e.status === 409 ? `A saved query named “${body.name}” exists already` : e.message) : String(e);
      setError(msg);
      notify({ kind: 'error', title: 'Saving failed', message: msg });
    }
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    e.stopPropagation();
    void submit(false);
  };
  const busy = save.isPending || update.isPending;

  return (
    <form className="save-form" onSubmit={onSubmit} aria-label="Save query" noValidate>
      {editing ? (
        <p className="editing">
          Editing saved query <strong>{editing.name}</strong>{' '}
          <button type="button" className="link" onClick={onStopEditing}>
            stop editing
          </button>
        </p>
      ) : null}
      <label>
        Name{' '}
        <input aria-label="Name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={Boolean(error && !name.trim()) || undefined} />
      </label>
      <label>
        Description <input aria-label="Description" className="input--wide" value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Save query
      </button>
      {editing ? (
        <button type="button" disabled={busy} onClick={() => void submit(true)}>
          Save as new
        </button>
      ) : null}
      {error ? (
        <small className="field__error" role="alert">
          {error}
        </small>
      ) : null}
    </form>
  );
}
