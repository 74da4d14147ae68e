// GET instruments/{symbol} (plain symbols) and GET futures/{root}/contracts (continuous
// symbols): whether a symbol exists and what it is, for inline validation.
import { apiRequest, apiUrl, ApiError } from '@/lib/api-client';
import type { ContractList, Instrument } from '@/lib/api-types';

import { parseContinuous } from '../lib/query-params';

export type SymbolCheck = { status: 'known'; assetClass: string } | { status: 'unknown'; message: string };

export function getInstrument(symbol: string, signal?: AbortSignal): Promise<Instrument> {
  return apiRequest<Instrument>(apiUrl(`instruments/${encodeURIComponent(symbol)}`), { signal });
}

export function getFuturesContracts(root: string, signal?: AbortSignal): Promise<ContractList> {
  return apiRequest<ContractList>(apiUrl(`futures/${encodeURIComponent(root)}/contracts`), { signal });
}

/** Asks the server whether `symbol` exists; a continuous symbol exists when its root has contracts. */
export async function checkSymbol(symbol: string, signal?: AbortSignal): Promise<SymbolCheck> {
  const continuous = parseContinuous(symbol);
  try {
    if (continuous) {
      const contracts = await getFuturesContracts(continuous.root, signal);
      return contracts.data.length > 0
        ? { status: 'known', assetClass: 'future' }
        : { status: 'unknown', message: `No stored contracts of ${continuous.root}` };
    }
    const instrument = await getInstrument(symbol, signal);
    return { status: 'known', assetClass: instrument.asset_class };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { status: 'unknown', message: `Unknown symbol ${symbol}` };
    throw e;
  }
}
