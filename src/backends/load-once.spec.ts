import { describe, expect, it } from 'vitest';
import { loadOnce } from './load-once.js';

describe('loadOnce', () => {
  it('loads on first use only, and shares the one load between concurrent callers', async () => {
    let loads = 0;
    const load = loadOnce(() => Promise.resolve({ id: ++loads }));
    expect(loads).toBe(0);
    const [first, second] = await Promise.all([load(), load()]);
    expect(first).toBe(second);
    expect(await load()).toBe(first);
    expect(loads).toBe(1);
  });

  it('forgets a failed load, so the next use tries again', async () => {
    let attempts = 0;
    const load = loadOnce(() => {
      attempts += 1;
      return attempts === 1 ? Promise.reject(new Error('transient')) : Promise.resolve(attempts);
    });
    await expect(load()).rejects.toThrow('transient');
    expect(await load()).toBe(2);
  });
});
