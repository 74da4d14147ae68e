import { formatInstant, makeZoneShifter, parseInstant, toRfc3339, zoneOffsetSeconds } from './format';

describe('time formatting', () => {
  it('formats instants in the exchange timezone across DST', () => {
    // 2013-10-07 13:30 UTC is 09:30 in New York (EDT), 2013-12-02 14:30 UTC is 09:30 (EST).
    expect(formatInstant(parseInstant('2013-10-07T13:30:00Z'), 'America/New_York')).toBe('2013-10-07 09:30');
    expect(formatInstant(parseInstant('2013-12-02T14:30:00Z'), 'America/New_York')).toBe('2013-12-02 09:30');
  });

  it('computes zone offsets and shifts for the chart', () => {
    expect(zoneOffsetSeconds(parseInstant('2013-07-01T12:00:00Z'), 'America/Chicago')).toBe(-5 * 3600);
    const shift = makeZoneShifter('America/Chicago');
    expect(shift(parseInstant('2013-12-02T15:00:00Z'))).toBe(parseInstant('2013-12-02T09:00:00Z'));
  });

  it('round-trips RFC 3339', () => {
    expect(toRfc3339(parseInstant('2013-10-07T13:30:00Z'))).toBe('2013-10-07T13:30:00Z');
  });
});
