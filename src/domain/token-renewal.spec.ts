import { describe, expect, it } from 'vitest';
import { renewalNearMaxTtl, tokenRenewalDueAt } from './token-renewal.js';

const MINUTE = 60_000;

describe('tokenRenewalDueAt', () => {
  it.each([
    // [case, lease, threshold, due after obtaining]
    [
      'a threshold shorter than half the TTL: that long before expiry',
      10 * MINUTE,
      30_000,
      10 * MINUTE - 30_000,
    ],
    [
      'KES default at a 1 h interval (3 h) against a 10 min token: half its life',
      10 * MINUTE,
      180 * MINUTE,
      5 * MINUTE,
    ],
    ['a threshold of exactly half the TTL', 10 * MINUTE, 5 * MINUTE, 5 * MINUTE],
    ['a 6 s token with a 4.5 s threshold: at 3 s', 6_000, 4_500, 3_000],
    ['a zero threshold: at expiry', 10 * MINUTE, 0, 10 * MINUTE],
  ])('%s', (_case, lease, threshold, dueAfter) => {
    expect(tokenRenewalDueAt(1_000_000, lease, threshold)).toBe(1_000_000 + dueAfter);
  });

  it('is never due before it was obtained, nor after it expires', () => {
    for (const lease of [1_000, 60_000, 3_600_000])
      for (const threshold of [0, 500, 60_000, 10_800_000]) {
        const due = tokenRenewalDueAt(0, lease, threshold);
        expect(due).toBeGreaterThan(0);
        expect(due).toBeLessThanOrEqual(lease);
      }
  });
});

describe('renewalNearMaxTtl', () => {
  it.each([
    ['a renewal granting the full TTL', 6_000, 6_000, false],
    ['a renewal granting half the TTL', 3_000, 6_000, false],
    ['a renewal capped by the max TTL to under half', 2_000, 6_000, true],
    ['a renewal granting nothing', 0, 600_000, true],
  ])('%s', (_case, granted, loginTtl, near) => {
    expect(renewalNearMaxTtl(granted, loginTtl)).toBe(near);
  });
});
