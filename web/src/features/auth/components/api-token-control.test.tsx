import { QueryClient } from '@tanstack/react-query';
import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { vi } from 'vitest';

import { apiRequest, apiUrl } from '@/lib/api-client';
import { TOKEN_STORAGE_KEY } from '@/lib/token';
import { API, mockApi } from '@/testing/mock-api';
import { renderWithProviders } from '@/testing/render';

import { ApiTokenControl } from './api-token-control';
import { TokenRequiredBanner } from './token-required-banner';

const SECRET = 'ta_0123456789abcdef';

function Header() {
  return (
    <>
      <ApiTokenControl />
      <TokenRequiredBanner />
    </>
  );
}

describe('ApiTokenControl', () => {
  afterEach(() => vi.restoreAllMocks());

  it('saves the token to localStorage, reloads the data and never shows the secret', async () => {
    const invalidate = vi.spyOn(QueryClient.prototype, 'invalidateQueries');
    const { container } = renderWithProviders(<ApiTokenControl />);
    const user = userEvent.setup();
    const input = screen.getByLabelText('API token');
    expect(input).toHaveAttribute('type', 'password');
    expect(screen.getByText('No token')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Clear' })).toBeDisabled();

    await user.type(input, SECRET);
    await user.click(screen.getByRole('button', { name: 'Save' }));

    expect(localStorage.getItem(TOKEN_STORAGE_KEY)).toBe(SECRET);
    expect(invalidate).toHaveBeenCalledTimes(1);
    expect(screen.getByText('Token set')).toBeInTheDocument();
    expect(input).toHaveValue('');
    expect(container.innerHTML).not.toContain(SECRET);
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it('clears the stored token and reloads the data', async () => {
    localStorage.setItem(TOKEN_STORAGE_KEY, SECRET);
    const invalidate = vi.spyOn(QueryClient.prototype, 'invalidateQueries');
    renderWithProviders(<ApiTokenControl />);
    expect(screen.getByText('Token set')).toBeInTheDocument();
    expect(document.body.innerHTML).not.toContain(SECRET);

    await userEvent.click(screen.getByRole('button', { name: 'Clear' }));

    expect(localStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
    expect(invalidate).toHaveBeenCalledTimes(1);
    expect(screen.getByText('No token')).toBeInTheDocument();
  });

  it('does not save an empty token', async () => {
    renderWithProviders(<ApiTokenControl />);
    await userEvent.type(screen.getByLabelText('API token'), '   ');
    expect(screen.getByRole('button', { name: 'Save' })).toBeDisabled();
    await userEvent.keyboard('{Enter}');
    expect(localStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
  });

  it('asks for a token after a 401 and stops once one is saved', async () => {
    mockApi([{ path: `${API}/frequencies`, reply: () => ({ status: 401, body: { error: { code: 'unauthorized', message: 'this route needs an API token', details: {} } } }) }]);
    renderWithProviders(<Header />);
    expect(screen.queryByText('This server needs an API token')).not.toBeInTheDocument();

    await act(() => apiRequest(apiUrl('frequencies')).catch(() => undefined));

    expect(await screen.findByText('This server needs an API token')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: /enter it in the API token field/ }));
    expect(screen.getByLabelText('API token')).toHaveFocus();

    await user.type(screen.getByLabelText('API token'), SECRET);
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByText(/needs an API token/)).not.toBeInTheDocument());
  });

  it('says so when the server refuses the saved token', async () => {
    localStorage.setItem(TOKEN_STORAGE_KEY, SECRET);
    mockApi([{ path: `${API}/frequencies`, reply: () => ({ status: 401, body: { error: { code: 'unauthorized', message: 'unknown or revoked token', details: {} } } }) }]);
    renderWithProviders(<Header />);
    await act(() => apiRequest(apiUrl('frequencies')).catch(() => undefined));
    expect(await screen.findByText('The server did not accept the saved API token')).toBeInTheDocument();
    expect(document.body.innerHTML).not.toContain(SECRET);
  });
});
