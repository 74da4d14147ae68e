import { useState } from 'react';

import { useNotify } from '@/components/ui/notifications';
import type { FetchRequest } from '@/lib/api-types';
import { downloadFile } from '@/lib/download';
import { useToken } from '@/lib/token';

import { exportUrl, useExportAvailable, type ExportFormat } from '../api/export-url';

/**
 * Format picker + Export. Without an API token the browser downloads the server's streaming
 * export directly; with one the file is fetched with the token first (see `downloadFile`).
 */
export function ExportControl({ request }: { request: FetchRequest | undefined }) {
  const [format, setFormat] = useState<ExportFormat>('csv');
  const [downloading, setDownloading] = useState(false);
  const available = useExportAvailable();
  const withToken = useToken() !== null;
  const notify = useNotify();
  const onExport = async () => {
    if (!request) return;
    if (available === false) {
      notify({ kind: 'error', title: 'Export is not available', message: 'This server has no export endpoint yet.' });
      return;
    }
    const label = format.toUpperCase();
    notify({
      kind: 'info',
      title: `Export started (${label})`,
      message: withToken ? 'The file downloads with your API token, then saves.' : 'The download streams from the server.',
    });
    // Only a token download takes a while in the page; a link hands over at once.
    setDownloading(withToken);
    try {
      await downloadFile(exportUrl(request, format), `export.${format}`);
    } catch (e) {
      notify({ kind: 'error', title: `Export (${label}) failed`, message: (e as Error).message });
    } finally {
      setDownloading(false);
    }
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
      <button type="button" onClick={() => void onExport()} disabled={!request || downloading} title={available === false ? 'The server has no export endpoint yet' : undefined}>
        {downloading ? 'Exporting…' : 'Export'}
      </button>
    </div>
  );
}
