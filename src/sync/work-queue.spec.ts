import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue, type WorkItem, type WorkResult } from './work-queue.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

function deferred() {
  let resolve!: (result: WorkResult) => void;
  const promise = new Promise<WorkResult>((done) => (resolve = done));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  afterEach(() => vi.useRealTimers());

  it('never runs one key twice at once, and runs it again after when re-added meanwhile', async () => {
    const gates: Array<ReturnType<typeof deferred>> = [];
    const seen: string[] = [];
    const queue = new WorkQueue(
      (item) => {
        seen.push(item.key);
        const gate = deferred();
        gates.push(gate);
        return gate.promise;
      },
      { concurrency: 4, baseRetryDelayMs: 10, maxRetryDelayMs: 100 },
    );
    queue.add('a', 'urgent');
    queue.add('a', 'urgent');
    await flush();
    expect(seen).toEqual(['a']);
    queue.add('a', 'periodic');
    queue.add('a', 'urgent');
    expect(queue.depth).toBe(1);
    gates[0]!.resolve('done');
    await flush();
    expect(seen).toEqual(['a', 'a']);
    gates[1]!.resolve('done');
    await flush();
    expect(queue.depth).toBe(0);
  });

  it('bounds concurrency and takes urgent work before periodic refreshes', async () => {
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const order: string[] = [];
    const queue = new WorkQueue(
      (item: WorkItem) => {
        order.push(item.key);
        const gate = deferred();
        gates.set(item.key, gate);
        return gate.promise;
      },
      { concurrency: 2, baseRetryDelayMs: 10, maxRetryDelayMs: 100 },
    );
    for (const key of ['p1', 'p2', 'p3', 'p4']) queue.add(key, 'periodic');
    queue.add('new', 'urgent');
    await flush();
    expect(order).toEqual(['p1', 'p2']);
    expect(queue.active).toBe(2);
    gates.get('p1')!.resolve('done');
    await flush();
    expect(order).toEqual(['p1', 'p2', 'new']);
    gates.get('p2')!.resolve('done');
    await flush();
    expect(order).toEqual(['p1', 'p2', 'new', 'p3']);
  });

  it('retries with exponential backoff and jitter, and resets after a success', async () => {
    vi.useFakeTimers();
    const runs: number[] = [];
    const freshness: number[] = [];
    const results: WorkResult[] = ['retry', 'retry', 'retry', 'done'];
    const queue = new WorkQueue(
      (item) => {
        runs.push(Date.now());
        freshness.push(item.freshAfter);
        return Promise.resolve(results.shift()!);
      },
      { concurrency: 1, baseRetryDelayMs: 100, maxRetryDelayMs: 1000, random: () => 1 },
    );
    const start = Date.now();
    queue.add('a', 'urgent');
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs.map((time) => time - start)).toEqual([0, 100, 300, 700]);
    // Retries need values as fresh as the first attempt did, not fresher (a value read since serves them).
    expect(freshness).toEqual([start, start, start, start]);
  });

  it('drops a forgotten key and drains in-flight work', async () => {
    const gate = deferred();
    let ran = 0;
    const queue = new WorkQueue(
      () => {
        ran++;
        return gate.promise;
      },
      { concurrency: 1, baseRetryDelayMs: 10, maxRetryDelayMs: 100 },
    );
    queue.add('busy', 'urgent');
    queue.add('gone', 'urgent');
    queue.forget('gone');
    const drained = queue.drain();
    queue.add('late', 'urgent');
    gate.resolve('done');
    await drained;
    expect(ran).toBe(1);
    expect(queue.depth).toBe(0);
  });

  it('collects work while paused and runs it once resumed', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue(
      (item) => {
        seen.push(item.key);
        return Promise.resolve('done' as const);
      },
      { concurrency: 2, baseRetryDelayMs: 10, maxRetryDelayMs: 100, startPaused: true },
    );
    queue.add('a', 'periodic');
    queue.add('b', 'urgent');
    queue.add('a', 'urgent');
    await flush();
    expect(seen).toEqual([]);
    expect(queue.depth).toBe(2);
    queue.resume();
    await flush();
    expect(seen.sort()).toEqual(['a', 'b']);
    await queue.pause();
    queue.add('c', 'urgent');
    await flush();
    expect(seen).toHaveLength(2);
  });

  // An answer at once (an unchanged refresh) runs inline, before add returns: no promise, and no slot kept.
  it.each([
    { answer: 'done', runs: 1, retried: false },
    { answer: 'retry', runs: 2, retried: true },
    { answer: 'throws', runs: 2, retried: true },
  ] as const)('a handler answering $answer at once: $runs run(s)', async ({ answer, runs, retried }) => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const slow = deferred();
    const queue = new WorkQueue(
      (item) => {
        seen.push(item.key);
        if (item.key === 'slow') return slow.promise;
        if (seen.filter((key) => key === item.key).length > 1) return 'done';
        if (answer === 'throws') throw new Error('boom');
        return answer;
      },
      { concurrency: 2, baseRetryDelayMs: 10, maxRetryDelayMs: 10, random: () => 0.5 },
    );
    queue.add('slow', 'urgent');
    queue.add('quick', 'periodic');
    expect(queue.active).toBe(1);
    expect(seen).toEqual(['slow', 'quick']);
    await vi.advanceTimersByTimeAsync(50);
    expect(seen.filter((key) => key === 'quick')).toHaveLength(runs);
    expect(seen.length > 2).toBe(retried);
    slow.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.active).toBe(0);
    expect(queue.depth).toBe(0);
  });
});
