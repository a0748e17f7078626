import { describe, expect, it } from 'vitest';
import type { ControllerConfig } from '../config/controller-config.js';
import { BackendError } from './backend-errors.js';
import { requestKey, type RemoteRequest, type RemoteValue, type SecretBackend } from './secret-backend.js';
import { ValueFetcher } from './value-fetcher.service.js';

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
});
