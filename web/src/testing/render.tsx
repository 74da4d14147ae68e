import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';

import { NotificationsProvider } from '@/components/ui/notifications';

/** Renders `ui` with a fresh query cache and the notifications provider. */
export function renderWithProviders(ui: ReactElement) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: 0 }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <NotificationsProvider>{ui}</NotificationsProvider>
    </QueryClientProvider>,
  );
}
