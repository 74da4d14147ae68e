import { useToken, useUnauthorized } from '@/lib/token';

import { API_TOKEN_INPUT_ID } from './api-token-control';

/** Shown once the server answered 401: it needs a token, or refused the stored one. */
export function TokenRequiredBanner() {
  const unauthorized = useUnauthorized();
  const hasToken = useToken() !== null;
  if (!unauthorized) return null;
  const focusInput = () => document.getElementById(API_TOKEN_INPUT_ID)?.focus();
  return (
    <div className="banner banner--warn" role="alert">
      <strong>{hasToken ? 'The server did not accept the saved API token' : 'This server needs an API token'}</strong>
      <span>
        {hasToken ? (
          'It may be mistyped or revoked: '
        ) : (
          <>
            Ask an admin for one (<code>tradeassist token create --role read</code>), then{' '}
          </>
        )}
        <button type="button" className="link" onClick={focusInput}>
          {hasToken ? 'enter a valid one in the API token field' : 'enter it in the API token field'}
        </button>{' '}
        in the header.
      </span>
    </div>
  );
}
