import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration (Go syntax)', () => {
  it.each([
    ['0', 0],
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2m30s', 150_000],
    ['250ms', 250],
    ['1s500ms', 1500],
    ['.5s', 500],
    ['1.s', 1000],
    ['1500us', 2],
    ['1500µs', 2],
    ['2000000ns', 2],
    ['0s', 0],
    ['24h', 86_400_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', '1d', '-1s', '+1s', '1h 30m', 's', '1.2.3s', 'PT1H', '0x1s', '1S', ' 1s'])(
    '%j is not a duration',
    (text) => expect(parseDuration(text)).toBeUndefined(),
  );
});
