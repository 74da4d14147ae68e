import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { vi } from 'vitest';

import { API, mockApi } from '@/testing/mock-api';
import { renderWithProviders } from '@/testing/render';

import { DEFAULT_VALUES, type QueryFormValues } from '../lib/query-params';
import { QueryForm } from './query-form';

const instruments = {
  AAPL: { symbol: 'AAPL', asset_class: 'stock', exchange: 'NASDAQ', timezone: 'America/New_York', calendar: 'us_equity', currency: 'USD', tick_size: 0.01, multiplier: 1, description: 'Apple' },
  ESZ13: { symbol: 'ESZ13', asset_class: 'future', exchange: 'CME', timezone: 'America/Chicago', calendar: 'cme_globex', currency: 'USD', tick_size: 0.25, multiplier: 50, description: 'E-mini', contract: { root: 'ES', month: '2013-12' } },
};

function api() {
  return mockApi([
    { path: `${API}/frequencies`, reply: () => ({ body: { data: [{ name: '1d', label: '1 day', seconds: 86400, bases: ['1d'] }], custom: '', activity: '' } }) },
    {
      path: /\/instruments\/[^/]+$/,
      reply: ({ url }) => {
        const s = decodeURIComponent(url.pathname.split('/').pop()!);
        const i = instruments[s as keyof typeof instruments];
        return i ? { body: i } : { status: 404, body: { error: { code: 'unknown_symbol', message: `unknown symbol(s): ${s}`, details: {} } } };
      },
    },
    { path: `${API}/futures/ES/contracts`, reply: () => ({ body: { data: [{ symbol: 'ESZ13', root: 'ES', month: '2013-12', series: [] }] } }) },
    { path: `${API}/instruments`, reply: ({ url }) => ({ body: { data: Object.values(instruments).filter((i) => i.symbol.startsWith((url.searchParams.get('search') ?? '').toUpperCase())) } }) },
  ]);
}

function Harness({ onRun, initial = DEFAULT_VALUES }: { onRun: (v: QueryFormValues) => void; initial?: QueryFormValues }) {
  const [values, setValues] = useState(initial);
  return <QueryForm values={values} onChange={setValues} onRun={onRun} onCancel={() => {}} running={false} />;
}

describe('QueryForm', () => {
  it('shows every problem inline and sends nothing when the form is invalid', async () => {
    api();
    const onRun = vi.fn();
    renderWithProviders(<Harness onRun={onRun} />);
    const user = userEvent.setup();
    await user.clear(screen.getByLabelText('Frequency'));
    await user.type(screen.getByLabelText('Frequency'), '7x');
    await user.type(screen.getByLabelText('Start'), '2013-02-30');
    await user.click(screen.getByRole('button', { name: 'Run query' }));
    expect(onRun).not.toHaveBeenCalled();
    expect(await screen.findByText('Add at least one symbol')).toBeInTheDocument();
    expect(screen.getByText(/7x is not a frequency/)).toBeInTheDocument();
    expect(screen.getByText(/Use YYYY-MM-DD or an RFC 3339 instant such as/)).toBeInTheDocument();
    expect(screen.getByLabelText('Frequency')).toHaveAttribute('aria-invalid', 'true');
  });

  it('flags an end before the start', async () => {
    api();
    const onRun = vi.fn();
    renderWithProviders(<Harness onRun={onRun} initial={{ ...DEFAULT_VALUES, symbols: ['AAPL'], start: '2013-12-31', end: '2013-01-01' }} />);
    await userEvent.click(screen.getByRole('button', { name: 'Run query' }));
    expect(await screen.findByText('End lies before start')).toBeInTheDocument();
    expect(onRun).not.toHaveBeenCalled();
  });

  it('marks an unknown symbol inline once the server says so', async () => {
    api();
    const onRun = vi.fn();
    renderWithProviders(<Harness onRun={onRun} initial={{ ...DEFAULT_VALUES, start: '2013-01-01' }} />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Symbols'), 'NOPE,');
    expect(await screen.findByText(/Unknown symbol NOPE/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Run query' }));
    expect(onRun).not.toHaveBeenCalled();
  });

  it('runs on Enter with the typed symbol, a continuous symbol included', async () => {
    api();
    const onRun = vi.fn();
    renderWithProviders(<Harness onRun={onRun} />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Start'), '2013-01-01');
    await user.type(screen.getByLabelText('Symbols'), 'aapl es.v.0{Enter}');
    expect(onRun).toHaveBeenCalledTimes(1);
    expect(onRun.mock.calls[0]![0].symbols).toEqual(['AAPL', 'ES.v.0']);
  });

  it('shows futures options only for futures', async () => {
    api();
    renderWithProviders(<Harness onRun={() => {}} initial={{ ...DEFAULT_VALUES, symbols: ['AAPL'] }} />);
    expect(screen.queryByLabelText('Roll rule')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Session')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Symbols'), 'ES.v.0,');
    for (const name of ['Roll rule', 'Rank', 'Roll offset', 'Adjustment']) {
      expect(screen.getByLabelText(name)).toBeEnabled();
    }
    expect(screen.queryByLabelText('Session')).not.toBeInTheDocument();
  });

  it('treats a known futures contract as futures (roll options off: they need a continuous symbol)', async () => {
    api();
    renderWithProviders(<Harness onRun={() => {}} initial={{ ...DEFAULT_VALUES, symbols: ['ESZ13'] }} />);
    await waitFor(() => expect(screen.getByLabelText('Roll rule')).toBeDisabled());
  });

  it('switches between an absolute range and presets', async () => {
    api();
    const onRun = vi.fn();
    renderWithProviders(<Harness onRun={onRun} initial={{ ...DEFAULT_VALUES, symbols: ['AAPL'] }} />);
    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText('Preset'), 'last_bars');
    expect(screen.queryByLabelText('Start')).not.toBeInTheDocument();
    await user.clear(screen.getByLabelText('N'));
    await user.type(screen.getByLabelText('N'), '0');
    await user.click(screen.getByRole('button', { name: 'Run query' }));
    expect(await screen.findByText('Enter a whole number of at least 1')).toBeInTheDocument();
    await user.clear(screen.getByLabelText('N'));
    await user.type(screen.getByLabelText('N'), '500');
    await user.type(screen.getByLabelText('As of'), '2013-12-31');
    await user.click(screen.getByRole('button', { name: 'Run query' }));
    expect(onRun).toHaveBeenCalledTimes(1);
    expect(onRun.mock.calls[0]![0]).toMatchObject({ preset: 'last_bars', presetCount: '500', asOf: '2013-12-31' });
  });

  it('suggests instruments as the user types (debounced)', async () => {
    const { calls } = api();
    renderWithProviders(<Harness onRun={() => {}} />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Symbols'), 'ES');
    expect(await screen.findByRole('option', { name: /ES\.v\.0/ })).toBeInTheDocument();
    const searches = calls.filter((c) => c.url.pathname === `${API}/instruments`).map((c) => c.url.searchParams.get('search'));
    expect(searches).toEqual(['ES']);
    await user.click(screen.getByRole('option', { name: /ESZ13/ }));
    expect(screen.getByRole('button', { name: 'Remove ESZ13' })).toBeInTheDocument();
  });
});
