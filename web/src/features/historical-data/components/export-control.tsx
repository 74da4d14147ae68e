import { useState } from 'react';

import { useNotify } from '@/components/ui/notifications';
import type { FetchRequest } from '@/lib/api-types';

import { exportUrl, useExportAvailable, type ExportFormat } from '../api/export-url';

/** Format picker + Export: the browser downloads the server's streaming export directly. */
export function ExportControl({ request }: { request: FetchRequest | undefined }) {
  const [format, setFormat] = useState<ExportFormat>('csv');
  const available = useExportAvailable();
  const notify = useNotify();
  const onExport = () => {
    if (!request) return;
    if (available === false) {
      notify({ kind: 'error', title: 'Export is not available', message: 'This server has no export endpoint yet.' });
      return;
    }
    const a = document.createElement('a');
    a.href = exportUrl(request, format);
    a.download = '';
    document.body.appendChild(a);
    a.click();
    a.remove();
    notify({ kind: 'info', title: `Export started (${format.toUpperCase()})`, message: 'The download streams from the server.' });
  };
  return (
    <div className="export" role="group" aria-label="Export">
      <label>
        Format{' '}
        <select aria-label="Format" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
          <option value="csv">CSV</option>
          <option value="ndjson">NDJSON</option>
          <option value="parquet">Parquet</option>
        </select>
      </label>
      <button type="button" onClick={onExport} disabled={!request} title={available === false ? 'The server has no export endpoint yet' : undefined}>
        Export
      </button>
    </div>
  );
}
