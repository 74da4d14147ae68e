import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { vi } from 'vitest';

import type { SavedQuery } from '@/lib/api-types';
import { API, mockApi } from '@/testing/mock-api';
import { renderWithProviders } from '@/testing/render';

import { SaveQueryForm } from './save-query-form';
import { SavedQueriesPanel } from './saved-queries-panel';

const params = { symbols: ['AAPL'], frequency: '1d', start: '2013-01-01', end: '2013-12-31' };

function savedStore() {
  let next = 1;
  const store: SavedQuery[] = [];
  const api = mockApi([
    {
      method: 'POST',
      path: `${API}/queries/save`,
      reply: ({ body }) => {
        const b = body as { name: string; description: string; parameters: typeof params };
        if (store.some((q) => q.name === b.name)) return { status: 409, body: { error: { code: 'conflict', message: 'name taken', details: {} } } };
        const q = { id: next++, ...b, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', last_run_at: null };
        store.push(q);
        return { status: 201, body: q };
      },
    },
    {
      path: `${API}/queries`,
      reply: ({ url }) => {
        const s = (url.searchParams.get('search') ?? '').toLowerCase();
        return { body: { data: store.filter((q) => !s || q.name.toLowerCase().includes(s) || q.description.toLowerCase().includes(s)) } };
      },
    },
    {
      method: 'DELETE',
      path: /\/queries\/\d+$/,
      reply: ({ url }) => {
        const id = Number(url.pathname.split('/').pop());
        store.splice(store.findIndex((q) => q.id === id), 1);
        return { status: 204 };
      },
    },
  ]);
  return { store, ...api };
}

describe('saved queries', () => {
  it('saves the current query with a name and description, refusing a taken name', async () => {
    const { store } = savedStore();
    const onSaved = vi.fn();
    renderWithProviders(<SaveQueryForm request={params} editing={null} onSaved={onSaved} onStopEditing={() => {}} />);
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Save query' }));
    expect(await screen.findByText('Give the query a name')).toBeInTheDocument();
    await user.type(screen.getByLabelText('Name'), 'AAPL 2013');
    await user.type(screen.getByLabelText('Description'), 'daily bars');
    await user.click(screen.getByRole('button', { name: 'Save query' }));
    await waitFor(() => expect(onSaved).toHaveBeenCalledTimes(1));
    expect(store).toMatchObject([{ name: 'AAPL 2013', description: 'daily bars', parameters: params }]);
    await user.type(screen.getByLabelText('Name'), 'AAPL 2013');
    await user.click(screen.getByRole('button', { name: 'Save query' }));
    expect(await screen.findByText('A saved query named “AAPL 2013” exists already', { selector: 'small' })).toBeInTheDocument();
  });

  it('finds (debounced search), runs and deletes after confirmation', async () => {
    const { store, calls } = savedStore();
    store.push(
      { id: 10, name: 'AAPL 2013', description: 'daily', parameters: params, created_at: 'x', updated_at: '2026-01-01T00:00:00Z', last_run_at: null },
      { id: 11, name: 'SPY open', description: 'minutes', parameters: { ...params, symbols: ['SPY'], frequency: '1m' }, created_at: 'x', updated_at: '2026-01-01T00:00:00Z', last_run_at: null },
    );
    const onRun = vi.fn();
    renderWithProviders(<SavedQueriesPanel onRun={onRun} onEdit={() => {}} />);
    const user = userEvent.setup();
    expect(await screen.findByText('SPY open')).toBeInTheDocument();
    await user.type(screen.getByLabelText('Search saved queries'), 'aapl');
    await waitFor(() => expect(screen.queryByText('SPY open')).not.toBeInTheDocument());
    // One request for the whole typed word, not one per keystroke.
    const searches = calls.filter((c) => c.url.pathname === `${API}/queries`).map((c) => c.url.searchParams.get('search'));
    expect(searches).toEqual([null, 'aapl']);

    await user.click(screen.getByRole('button', { name: 'Run saved AAPL 2013' }));
    expect(onRun).toHaveBeenCalledWith(expect.objectContaining({ id: 10 }));

    await user.click(screen.getByRole('button', { name: 'Delete AAPL 2013' }));
    expect(screen.getByRole('alertdialog')).toHaveTextContent('“AAPL 2013” will be deleted');
    await user.click(screen.getByRole('button', { name: 'Keep it' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);

    await user.click(screen.getByRole('button', { name: 'Delete AAPL 2013' }));
    await user.click(screen.getByRole('button', { name: 'Confirm delete' }));
    await waitFor(() => expect(screen.queryByText('AAPL 2013', { selector: 'h3' })).not.toBeInTheDocument());
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url.pathname)).toEqual([`${API}/queries/10`]);
    expect(store.map((q) => q.id)).toEqual([11]);
  });
});
