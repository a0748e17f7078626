import { describe, expect, it } from 'vitest';
import type { ControllerConfig } from '../config/controller-config.js';
import { BackendError } from './backend-errors.js';
import { type SecretBackend } from './secret-backend.js';
import { requestKey, type RemoteRequest, type RemoteValue } from '../domain/remote-value.js';
import { planCalls, ValueFetcher } from './value-fetcher.service.js';

/** A backend that counts its calls and fails while `failing` is set. */
function fakeBackend() {
  const state = { calls: 0, failing: false, batches: [] as string[][] };
  const backend: SecretBackend = {
    backendType: 'fake',
    batchSize: 10,
    identityFor: () => ({ cacheKey: 'fake', description: 'fake' }),
    fetchMany: (_identity, requests: readonly RemoteRequest[]) => {
      state.calls++;
      state.batches.push(requests.map(requestKey));
      if (state.failing) return Promise.reject(new BackendError('throttled', true));
      return Promise.resolve(
        new Map<string, RemoteValue | Error>(
          requests.map((request) => [requestKey(request), { type: 'text', text: 'v' }]),
        ),
      );
    },
  };
  return { backend, state };
}

const identity = { cacheKey: 'fake', description: 'fake' };
const key = (name: string): RemoteRequest => ({ kind: 'key', key: name });

describe('ValueFetcher', () => {
  it('coalesces concurrent requests into one deduplicated call, and serves fresh values from its cache', async () => {
    const { backend, state } = fakeBackend();
    const fetcher = new ValueFetcher({ pollerIntervalMs: 1000 } as ControllerConfig);
    const now = Date.now();
    await Promise.all([
      fetcher.fetch(backend, identity, [key('a'), key('b')], now),
      fetcher.fetch(backend, identity, [key('b'), key('c')], now),
    ]);
    expect(state.calls).toBe(1);
    expect(state.batches[0]!.sort()).toEqual([
      requestKey(key('a')),
      requestKey(key('b')),
      requestKey(key('c')),
    ]);
    await fetcher.fetch(backend, identity, [key('a')], now);
    expect(state.calls).toBe(1);
    await fetcher.fetch(backend, identity, [key('a')], Date.now() + 1);
    expect(state.calls).toBe(2);
  });

  it('keeps the cached object for a byte-identical answer, so an unchanged value is the same object', async () => {
    let text = 'v1';
    const backend: SecretBackend = {
      backendType: 'changing',
      batchSize: 10,
      identityFor: () => identity,
      fetchMany: (_identity, requests) =>
        Promise.resolve(new Map(requests.map((request) => [requestKey(request), { type: 'text', text }]))),
    };
    const fetcher = new ValueFetcher({ pollerIntervalMs: 1000 } as ControllerConfig);
    const read = async () =>
      (await fetcher.fetch(backend, identity, [key('a')], Date.now() + 1)).get(requestKey(key('a')));
    const first = await read();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await read();
    expect(again).toBe(first);
    text = 'v2';
    await new Promise((resolve) => setTimeout(resolve, 5));
    const changed = await read();
    expect(changed).not.toBe(first);
    expect(changed).toEqual({ type: 'text', text: 'v2' });
  });

  it('tells whether the cache holds the very values expected, fresh enough, without a call', async () => {
    const { backend, state } = fakeBackend();
    const fetcher = new ValueFetcher({ pollerIntervalMs: 1000 } as ControllerConfig);
    const before = Date.now();
    expect(fetcher.holdsUnchanged(identity, [key('a')], [{ type: 'text', text: 'v' }], before)).toBe(false);
    const values = await fetcher.fetch(backend, identity, [key('a'), key('b')], before);
    const a = values.get(requestKey(key('a')))!;
    const b = values.get(requestKey(key('b')))!;
    // Each row: the requests, the values expected for them, how fresh they must be, and the answer.
    const rows: Array<[RemoteRequest[], Array<RemoteValue | Error>, number, boolean]> = [
      [[key('b'), key('a')], [b, a], before, true],
      [[key('a'), key('b')], [b, a], before, false],
      // Equal bytes in another object: not what the quiet sync saw.
      [[key('a')], [{ ...(a as RemoteValue) }], before, false],
      [[key('a'), key('c')], [a, a], before, false],
      [[key('a')], [a], Date.now() + 1000, false],
      [[], [], before, true],
    ];
    for (const [requests, expected, freshAfter, holds] of rows)
      expect(fetcher.holdsUnchanged(identity, requests, expected, freshAfter)).toBe(holds);
    expect(state.calls).toBe(1);
  });

  it('prefetches into the cache, one call for repeated keys, and a fetch after it makes none', async () => {
    const { backend, state } = fakeBackend();
    const fetcher = new ValueFetcher({ pollerIntervalMs: 1000 } as ControllerConfig);
    const before = Date.now();
    await expect(
      fetcher.prefetch(backend, identity, [key('a'), key('b'), key('a'), key('b')], before),
    ).resolves.toBeUndefined();
    expect(state.calls).toBe(1);
    const values = await fetcher.fetch(backend, identity, [key('b'), key('a')], before);
    expect([...values.keys()]).toEqual([requestKey(key('b')), requestKey(key('a'))]);
    expect(state.calls).toBe(1);
  });

  it('backs off an identity after a transient failure, so the call rate falls, and resumes after', async () => {
    const { backend, state } = fakeBackend();
    const fetcher = new ValueFetcher({ pollerIntervalMs: 100 } as ControllerConfig);
    state.failing = true;
    await expect(fetcher.fetch(backend, identity, [key('a')], Date.now())).rejects.toThrow('throttled');
    expect(state.calls).toBe(1);
    // Within the backoff no call goes out; the same error is reported.
    await expect(fetcher.fetch(backend, identity, [key('a')], Date.now())).rejects.toThrow('throttled');
    expect(state.calls).toBe(1);
    state.failing = false;
    await new Promise((resolve) => setTimeout(resolve, 600));
    const values = await fetcher.fetch(backend, identity, [key('a')], Date.now());
    expect(values.get(requestKey(key('a')))).toEqual({ type: 'text', text: 'v' });
    expect(state.calls).toBe(2);
  });

  it('lets a request wait for the same value already being fetched, if that call started late enough', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const slow: SecretBackend = {
      backendType: 'slow',
      batchSize: 10,
      identityFor: () => identity,
      fetchMany: async (_identity, requests) => {
        calls++;
        await gate;
        return new Map(requests.map((request) => [requestKey(request), { type: 'text', text: `v${calls}` }]));
      },
    };
    const fetcher = new ValueFetcher({ pollerIntervalMs: 1000 } as ControllerConfig);
    const before = Date.now();
    const first = fetcher.fetch(slow, identity, [key('a')], before);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(1);
    // In flight since after `before`: joined, no second call.
    const joined = fetcher.fetch(slow, identity, [key('a')], before);
    // Needs a value read after the call started: a call of its own.
    const fresher = fetcher.fetch(slow, identity, [key('a')], Date.now() + 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(2);
    release();
    const [one, two] = await Promise.all([first, joined, fresher]);
    expect(two).toEqual(one);
  });

  it('leaves no promise unobserved when a request joins a read in flight and meets the backoff (no unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let failSlowRead!: () => void;
      const slowReadGate = new Promise<void>((_, reject) => {
        failSlowRead = () => reject(new BackendError('connection reset', true));
      });
      const calls: string[][] = [];
      const backend: SecretBackend = {
        backendType: 'fake',
        batchSize: 10,
        identityFor: () => identity,
        fetchMany: async (_identity, requests) => {
          calls.push(requests.map(requestKey));
          if (requests.some((request) => request.kind === 'key' && request.key === 'slow'))
            await slowReadGate;
          throw new BackendError('throttled', true);
        },
      };
      const fetcher = new ValueFetcher({ pollerIntervalMs: 60_000 } as ControllerConfig);
      // A read of `slow` goes out and stays in flight.
      const inFlight = fetcher
        .fetch(backend, identity, [key('slow')], Date.now())
        .catch((error: Error) => error);
      await new Promise((resolve) => setTimeout(resolve, 20));
      // A read of `fast` fails at once: the identity is backed off.
      await expect(fetcher.fetch(backend, identity, [key('fast')], Date.now())).rejects.toThrow('throttled');
      // Joins `slow` in flight, then needs a call for `fast` during the backoff: refused at once.
      await expect(fetcher.fetch(backend, identity, [key('slow'), key('fast')], 0)).rejects.toThrow(
        'throttled',
      );
      failSlowRead();
      expect(await inFlight).toBeInstanceOf(BackendError);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      expect(calls).toHaveLength(2);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('splits the reads of one identity into calls of at most batchSize, and makes no more calls after a transient failure', async () => {
    const { backend, state } = fakeBackend();
    const fetcher = new ValueFetcher({ pollerIntervalMs: 1000 } as ControllerConfig);
    const keys = Array.from({ length: 25 }, (_, index) => key(`k${index}`));
    const values = await fetcher.fetch(backend, identity, keys, Date.now());
    expect(values.size).toBe(25);
    expect(state.batches.map((batch) => batch.length).sort((a, b) => a - b)).toEqual([5, 10, 10]);

    const failing = fakeBackend();
    failing.state.failing = true;
    const many = Array.from({ length: 200 }, (_, index) => key(`f${index}`));
    await expect(fetcher.fetch(failing.backend, identity, many, Date.now())).rejects.toThrow('throttled');
    // 20 calls planned; only those already started when the first failed were made.
    expect(failing.state.calls).toBeLessThanOrEqual(8);
  });
});

describe('planCalls', () => {
  const pinned: RemoteRequest = { kind: 'key', key: 'p', version: { id: 'v1' } };
  const path: RemoteRequest = { kind: 'path', path: '/a', recursive: false };
  const canBatch = (request: RemoteRequest) => request.kind === 'key' && !request.version;
  const keys = (count: number) => Array.from({ length: count }, (_, index) => key(`k${index}`));
  it.each([
    { name: 'no requests', batchSize: 20, requests: [], sizes: [] },
    { name: 'fewer than a batch', batchSize: 20, requests: keys(3), sizes: [3] },
    { name: 'exactly two batches', batchSize: 10, requests: keys(20), sizes: [10, 10] },
    { name: 'a remainder', batchSize: 10, requests: keys(21), sizes: [10, 10, 1] },
    { name: 'batch size 1 (Vault)', batchSize: 1, requests: keys(3), sizes: [1, 1, 1] },
    {
      name: 'unbatchable requests go alone',
      batchSize: 20,
      requests: [...keys(2), pinned, path],
      sizes: [1, 1, 2],
    },
  ])('$name', ({ batchSize, requests, sizes }) => {
    const calls = planCalls({ batchSize, canBatch }, requests);
    expect(calls.map((call) => call.length)).toEqual(sizes);
    expect(calls.flat().map(requestKey).sort()).toEqual(requests.map(requestKey).sort());
  });
});
