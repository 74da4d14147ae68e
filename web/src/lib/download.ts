// File downloads from the API. A link cannot carry the `Authorization` header, so with a
// token the file is fetched with it and saved from memory; without one the browser follows a
// link itself and streams the file to disk (the server's own name, no copy in the page).
import { apiFetch } from './api-client';
import { getToken } from './token';

/** How long a saved blob stays addressable: the browser reads it after `click()` returns. */
const REVOKE_AFTER_MS = 60_000;

/** The file name of a `Content-Disposition` header (`filename*=` preferred), or null. */
export function fileNameFromDisposition(header: string | null): string | null {
  if (!header) return null;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (extended?.[2]) {
    try {
      return decodeURIComponent(extended[2].trim());
    } catch {
      // A malformed escape: fall back to the plain parameter.
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header);
  const name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2]?.trim();
  return name || null;
}

function clickLink(href: string, fileName: string) {
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/**
 * Downloads the API resource at `url`, named by the server (`fallbackName` when a token
 * download gets no `Content-Disposition`). Resolves once the browser has the file (with a
 * token) or has been pointed at it (without); rejects with `ApiError`.
 */
export async function downloadFile(url: string, fallbackName: string): Promise<void> {
  if (!getToken()) {
    clickLink(url, '');
    return;
  }
  const res = await apiFetch(url);
  const blob = await res.blob();
  const href = URL.createObjectURL(blob);
  clickLink(href, fileNameFromDisposition(res.headers.get('content-disposition')) ?? fallbackName);
  setTimeout(() => URL.revokeObjectURL(href), REVOKE_AFTER_MS);
}
