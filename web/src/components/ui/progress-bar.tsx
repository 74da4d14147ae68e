/** A progress bar; `fraction` null means the amount is not known yet (indeterminate). */
export function ProgressBar({ fraction, label }: { fraction: number | null; label: string }) {
  const pct = fraction === null ? undefined : Math.round(fraction * 100);
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
      <div className={`progress__fill${pct === undefined ? ' progress__fill--indeterminate' : ''}`} style={pct === undefined ? undefined : { width: `${pct}%` }} />
    </div>
  );
}
