import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { vi } from 'vitest';

import type { Bar } from '@/lib/api-types';

import { BarsTable, FILTER_DEBOUNCE_MS } from './bars-table';

function bar(date: string, close: number, volume: number, complete = true): Bar {
  return { ts: `${date}T14:30:00Z`, date, open: close, high: close + 1, low: close - 1, close, volume, vwap: close, complete, base_bars: 1 };
}

const bars = [bar('2013-01-02', 549.03, 300), bar('2013-01-03', 542.1, 100), bar('2013-01-04', 527.0, 200), bar('2013-01-07', 560.5, 50, false)];

// jsdom has no layout: give the scroll container a size so the virtualizer renders rows.
beforeAll(() => {
  vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(420);
  vi.spyOn(HTMLElement.prototype, 'offsetHeight', 'get').mockReturnValue(420);
  vi.spyOn(HTMLElement.prototype, 'offsetWidth', 'get').mockReturnValue(1000);
  vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(1000);
});

function firstColumn(): string[] {
  const table = screen.getByRole('table', { name: 'Bars table' });
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map((r) => within(r).getAllByRole('cell')[0]!.textContent ?? '');
}

describe('BarsTable', () => {
  it('shows the count and the bars in time order', () => {
    render(<BarsTable bars={bars} timezone="America/New_York" daily />);
    expect(screen.getByText('4 bars')).toBeInTheDocument();
    expect(firstColumn()).toEqual(['2013-01-02', '2013-01-03', '2013-01-04', '2013-01-07']);
  });

  it('sorts by a column and flips the direction on a second click', () => {
    render(<BarsTable bars={bars} timezone="America/New_York" daily />);
    fireEvent.click(screen.getByRole('button', { name: /^Close/ }));
    expect(screen.getByRole('columnheader', { name: /Close/ })).toHaveAttribute('aria-sort', 'descending');
    expect(firstColumn()).toEqual(['2013-01-07', '2013-01-02', '2013-01-03', '2013-01-04']);
    fireEvent.click(screen.getByRole('button', { name: /^Close/ }));
    expect(firstColumn()).toEqual(['2013-01-04', '2013-01-03', '2013-01-02', '2013-01-07']);
  });

  it('applies filters only after the debounce', () => {
    vi.useFakeTimers();
    try {
      render(<BarsTable bars={bars} timezone="America/New_York" daily />);
      fireEvent.change(screen.getByLabelText('Min close'), { target: { value: '545' } });
      expect(screen.getByText('4 bars')).toBeInTheDocument();
      act(() => vi.advanceTimersByTime(FILTER_DEBOUNCE_MS + 10));
      expect(screen.getByText('2 of 4 bars')).toBeInTheDocument();
      expect(firstColumn()).toEqual(['2013-01-02', '2013-01-07']);
      fireEvent.change(screen.getByLabelText('Filter to'), { target: { value: '2013-01-04' } });
      act(() => vi.advanceTimersByTime(FILTER_DEBOUNCE_MS + 10));
      expect(firstColumn()).toEqual(['2013-01-02']);
      fireEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
      fireEvent.click(screen.getByLabelText('Incomplete only'));
      act(() => vi.advanceTimersByTime(FILTER_DEBOUNCE_MS + 10));
      expect(screen.getByText('1 of 4 bars')).toBeInTheDocument();
      expect(firstColumn()).toEqual(['2013-01-07']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('renders only a window of a large result', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => bar(new Date(Date.UTC(2000, 0, 1) + i * 86_400_000).toISOString().slice(0, 10), 100 + (i % 50), i));
    render(<BarsTable bars={many} timezone="America/New_York" daily />);
    expect(screen.getByText('100,000 bars')).toBeInTheDocument();
    const rows = within(screen.getByRole('table', { name: 'Bars table' })).getAllByRole('row');
    expect(rows.length).toBeLessThan(100);
  });
});
