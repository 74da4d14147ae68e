import { DEFAULT_VALUES, fromFetchRequest, normalizeSymbol, symbolSyntaxError, toFetchRequest, validate } from './query-params';

describe('query parameters', () => {
  it.each([
    ['es.v.0', 'ES.v.0'],
    ['ES.C.1', 'ES.c.1'],
    ['aapl', 'AAPL'],
    ['esz13', 'ESZ13'],
  ])('normalises %s to %s', (raw, want) => expect(normalizeSymbol(raw)).toBe(want));

  it('accepts continuous symbols and rejects a wrong rule letter', () => {
    expect(symbolSyntaxError('ES.v.0')).toBeNull();
    expect(symbolSyntaxError('ES.x.0')).toMatch(/c \(calendar\), v \(volume\) or n/);
  });

  it.each([['1d'], ['15m'], ['1M'], ['3w'], ['volume:50000'], ['dollar:1e6'], ['tick:100']])('accepts frequency %s', (f) => {
    expect(validate({ ...DEFAULT_VALUES, symbols: ['AAPL'], start: '2013-01-01', frequency: f }).frequency).toBeUndefined();
  });

  it('maps presets, futures options and back', () => {
    const v = { ...DEFAULT_VALUES, symbols: ['ES.v.0'], frequency: '1d', preset: 'last_months' as const, presetCount: '3', asOf: '2013-12-31', roll: 'calendar' as const, rank: '1', rollOffset: '5', adjust: 'ratio_back' as const };
    const req = toFetchRequest(v);
    expect(req).toEqual({ symbols: ['ES.v.0'], frequency: '1d', preset: 'last_3_months', as_of: '2013-12-31', roll: 'calendar', rank: 1, roll_offset: 5, adjust: 'ratio_back' });
    expect(toFetchRequest(fromFetchRequest(req))).toEqual(req);
  });

  it('turns "today" into that day and sends equity options only for equities', () => {
    const req = toFetchRequest({ ...DEFAULT_VALUES, symbols: ['SPY'], preset: 'today', asOf: '2013-10-07', session: 'extended', stockAdjust: 'split' });
    expect(req).toEqual({ symbols: ['SPY'], frequency: '1d', start: '2013-10-07', end: '2013-10-07', session: 'extended', adjust: 'split' });
  });
});
