import { AppProvider } from './provider';
import { HistoricalDataPage } from './routes/historical-data';

export function App() {
  return (
    <AppProvider>
      <HistoricalDataPage />
    </AppProvider>
  );
}
