import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ControllerConfig } from '../config/controller-config.js';
import { WriteRateLimiter } from './write-rate-limiter.service.js';

describe('WriteRateLimiter', () => {
  afterEach(() => vi.useRealTimers());

  it('lets a burst through at once, then holds writes to the configured rate', async () => {
    vi.useFakeTimers();
    const limiter = new WriteRateLimiter({ kubeApiQps: 10, kubeApiBurst: 5 } as ControllerConfig);
    const start = Date.now();
    const done: number[] = [];
    const writes = Array.from({ length: 15 }, () =>
      limiter.acquire().then(() => done.push(Date.now() - start)),
    );
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(writes);
    expect(done.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    // The other ten at 10 per second: the last about one second after the burst.
    expect(done[14]).toBeGreaterThanOrEqual(950);
    expect(done[14]).toBeLessThanOrEqual(1100);
  });
});
