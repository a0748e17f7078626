import { describe, expect, it } from 'vitest';
import { withDeferredDateTimeFormat } from './deferred-date-time-format.js';

const OPTIONS = { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' } as const;
const MOMENT = Date.UTC(2026, 11, 2, 23, 30);

describe('withDeferredDateTimeFormat', () => {
  it('a formatter built while loading formats as a real one, and the real constructor is back after', async () => {
    const RealDateTimeFormat = Intl.DateTimeFormat;
    const built = await withDeferredDateTimeFormat(() => {
      expect(Intl.DateTimeFormat).not.toBe(RealDateTimeFormat);
      return Promise.resolve(new Intl.DateTimeFormat('en-US', OPTIONS));
    });
    expect(Intl.DateTimeFormat).toBe(RealDateTimeFormat);
    const real = new Intl.DateTimeFormat('en-US', OPTIONS);
    expect(built.format(MOMENT)).toBe(real.format(MOMENT));
    expect(built.format(MOMENT)).toBe('12/02/2026');
    expect(built.formatToParts(MOMENT)).toEqual(real.formatToParts(MOMENT));
    expect(built.formatRange(MOMENT, MOMENT + 86_400_000)).toBe(
      real.formatRange(MOMENT, MOMENT + 86_400_000),
    );
    expect(built.resolvedOptions()).toEqual(real.resolvedOptions());
  });

  it('restores the real constructor when loading fails', async () => {
    const RealDateTimeFormat = Intl.DateTimeFormat;
    await expect(
      withDeferredDateTimeFormat(() => Promise.reject(new Error('module failed to load'))),
    ).rejects.toThrow('module failed to load');
    expect(Intl.DateTimeFormat).toBe(RealDateTimeFormat);
  });

  it('passes invalid options on to the real constructor at first use', async () => {
    const built = await withDeferredDateTimeFormat(() =>
      Promise.resolve(new Intl.DateTimeFormat('en-US', { timeZone: 'Not/AZone' })),
    );
    expect(() => built.format(MOMENT)).toThrow(RangeError);
  });
});
