import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { useNotify } from '@/components/ui/notifications';
import { clearToken, setToken, useToken } from '@/lib/token';

/** The id of the token input, for prompts that send the user there. */
export const API_TOKEN_INPUT_ID = 'api-token';

/**
 * The header's API token field: Save stores the typed token, Clear forgets it; both reload the
 * server data. The stored secret is never shown, only whether one is set.
 */
export function ApiTokenControl() {
  const hasToken = useToken() !== null;
  const [draft, setDraft] = useState('');
  const queryClient = useQueryClient();
  const notify = useNotify();

  const apply = (change: () => void, title: string) => {
    change();
    setDraft('');
    void queryClient.invalidateQueries();
    notify({ kind: 'info', title, message: 'Reloading the data.' });
  };
  const onSave = (e: FormEvent) => {
    e.preventDefault();
    if (draft.trim()) apply(() => setToken(draft), 'API token saved');
  };

  return (
    <form className="token" aria-label="API token settings" onSubmit={onSave}>
      <label htmlFor={API_TOKEN_INPUT_ID}>API token</label>
      <input
        id={API_TOKEN_INPUT_ID}
        type="password"
        autoComplete="off"
        spellCheck={false}
        placeholder={hasToken ? 'Replace the token' : 'ta_…'}
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
      />
      <button type="submit" disabled={!draft.trim()}>
        Save
      </button>
      <button type="button" onClick={() => apply(clearToken, 'API token cleared')} disabled={!hasToken}>
        Clear
      </button>
      <span className={`token__state${hasToken ? ' token__state--set' : ''}`} aria-live="polite">
        {hasToken ? 'Token set' : 'No token'}
      </span>
    </form>
  );
}
