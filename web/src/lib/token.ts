// The API token of this browser and whether the server has refused a request for the lack of
// one. The token lives in `localStorage` (`tradeassist.token`) and is read on every use, so
// a token saved in another tab applies here too; the API client sends it, the WebSocket hook
// puts it in the `/ws` URL, and components re-render through `useToken`.
import { useSyncExternalStore } from 'react';

export const TOKEN_STORAGE_KEY = 'tradeassist.token';

type Listener = () => void;

const listeners = new Set<Listener>();
let unauthorized = false;

function emit() {
  for (const listener of listeners) listener();
}

/** The stored token, or null when none is set (or storage is unavailable). */
export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

/** Stores `token` (trimmed; an empty one clears). A new token may be accepted: the 401 is forgotten. */
export function setToken(token: string): void {
  const value = token.trim();
  if (!value) return clearToken();
  try {
    localStorage.setItem(TOKEN_STORAGE_KEY, value);
  } catch {
    // Storage is disabled (private mode, quota): the token is not kept and `getToken` says so.
  }
  unauthorized = false;
  emit();
}

export function clearToken(): void {
  try {
    localStorage.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // Nothing was stored.
  }
  unauthorized = false;
  emit();
}

/** Calls `listener` when the token (here or in another tab) or the unauthorized state changes. */
export function subscribeToken(listener: Listener): () => void {
  listeners.add(listener);
  const onStorage = (e: StorageEvent) => {
    if (e.key === TOKEN_STORAGE_KEY || e.key === null) listener();
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
}

/**
 * Records a 401: the server wants a (valid) token. Only a new token undoes it; a later success
 * proves nothing, since `/api/openapi.json` and the docs answer without one.
 */
export function reportUnauthorized(): void {
  if (unauthorized) return;
  unauthorized = true;
  emit();
}

/** True after a request was answered 401, until a token is saved or cleared. */
export function isUnauthorized(): boolean {
  return unauthorized;
}

/** The stored token; re-renders when it changes. */
export function useToken(): string | null {
  return useSyncExternalStore(subscribeToken, getToken, () => null);
}

/** `isUnauthorized`, re-rendering when it changes. */
export function useUnauthorized(): boolean {
  return useSyncExternalStore(subscribeToken, isUnauthorized, () => false);
}
