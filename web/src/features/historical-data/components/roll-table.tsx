import type { Roll } from '@/lib/api-types';
import { formatPrice } from '@/lib/format';

/** The roll table of a continuous series; the row of a clicked roll marker is highlighted. */
export function RollTable({ symbol, rolls, selected }: { symbol: string; rolls: Roll[]; selected: number | null }) {
  return (
    <table className="rolls" aria-label={`Roll table of ${symbol}`}>
      <caption>
        Rolls of {symbol} ({rolls.length}) — click a ▼ marker on the chart to highlight its row
      </caption>
      <thead>
        <tr>
          <th scope="col">Date</th>
          <th scope="col">From</th>
          <th scope="col">To</th>
          <th scope="col">Old price</th>
          <th scope="col">New price</th>
          <th scope="col">Difference</th>
          <th scope="col">Ratio</th>
          <th scope="col">Cumulative</th>
          <th scope="col">Trigger</th>
        </tr>
      </thead>
      <tbody>
        {rolls.map((r, i) => (
          <tr key={`${r.date}-${r.to}`} aria-selected={i === selected} className={i === selected ? 'selected' : undefined}>
            <td>{r.date}</td>
            <td>{r.from}</td>
            <td>{r.to}</td>
            <td>{formatPrice(r.from_price)}</td>
            <td>{formatPrice(r.to_price)}</td>
            <td>{formatPrice(r.difference)}</td>
            <td>{r.ratio === null || r.ratio === undefined ? '—' : r.ratio.toFixed(6)}</td>
            <td>{r.cumulative.toFixed(4)}</td>
            <td>{r.trigger}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
