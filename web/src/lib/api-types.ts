// Names for the wire types of the REST API, generated from the server's OpenAPI document
// (`npm run api:generate`; `npm run api:check` fails when the generated file is stale).
import type { components } from './api-schema';

type Schemas = components['schemas'];

export type Bar = Schemas['BarDto'];
export type Series = Schemas['SeriesDto'];
export type Roll = Schemas['RollDto'];
export type FetchRequest = Schemas['FetchRequestDto'];
export type FetchResponse = Schemas['FetchResponse'];
export type Instrument = Schemas['InstrumentDto'];
export type InstrumentList = Schemas['InstrumentList'];
export type FrequencyList = Schemas['FrequencyList'];
export type Frequency = Schemas['FrequencyDto'];
export type GapReport = Schemas['GapReportDto'];
export type SavedQuery = Schemas['SavedQueryDto'];
export type SavedQueryList = Schemas['SavedQueryList'];
export type SaveQueryRequest = Schemas['SaveQueryRequest'];
export type ContractList = Schemas['ContractList'];
export type ErrorBody = Schemas['ErrorBody'];
