import { describe, expect, it } from 'vitest';
import { backoffDelay, jittered } from './backoff.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 500, maxMs: 30_000 };
  it.each([
    { failures: 1, random: 0, delay: 250 },
    { failures: 1, random: 1, delay: 500 },
    { failures: 2, random: 1, delay: 1000 },
    { failures: 3, random: 0.5, delay: 1500 },
    { failures: 7, random: 1, delay: 30_000 },
    { failures: 50, random: 0, delay: 15_000 },
    { failures: 0, random: 1, delay: 500 },
  ])('after $failures failures with random $random: $delay ms', ({ failures, random, delay }) => {
    expect(backoffDelay(failures, policy, () => random)).toBe(delay);
  });
});

describe('jittered', () => {
  it.each([
    { period: 2000, fraction: 0.2, random: 0, delay: 2000 },
    { period: 2000, fraction: 0.2, random: 1, delay: 2400 },
    { period: 2000, fraction: 0, random: 1, delay: 2000 },
  ])('$period ms, fraction $fraction, random $random: $delay ms', ({ period, fraction, random, delay }) => {
    expect(jittered(period, fraction, () => random)).toBe(delay);
  });
});
