import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

import { clearToken } from '@/lib/token';

afterEach(() => {
  cleanup();
  // Every test starts without an API token and without a recorded 401.
  clearToken();
});
