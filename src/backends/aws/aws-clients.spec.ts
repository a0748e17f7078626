import { describe, expect, it } from 'vitest';
import { refreshTime } from './aws-clients.js';

describe('refreshTime of assumed-role credentials', () => {
  const obtainedAt = Date.parse('2026-01-01T00:00:00Z');

  it('renews an hour-long session five minutes before it expires', () => {
    const expiration = new Date(obtainedAt + 3600_000);
    expect(refreshTime(expiration, obtainedAt)).toBe(expiration.getTime() - 300_000);
  });

  it('renews a short session with a quarter of its lifetime left', () => {
    const expiration = new Date(obtainedAt + 4_000);
    expect(refreshTime(expiration, obtainedAt)).toBe(obtainedAt + 3_000);
  });

  it('keeps credentials without an expiry', () => {
    expect(refreshTime(undefined, obtainedAt)).toBe(Infinity);
  });
});
