import { Inject, Injectable } from '@nestjs/common';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';
import { backoffDelay } from '../domain/backoff.js';
import { failFast } from '../lifecycle/process-guards.js';
import { BackendError, toBackendError } from './backend-errors.js';
import { type BackendIdentity, type SecretBackend } from './secret-backend.js';
import { requestKey, sameRemoteValue, type RemoteRequest, type RemoteValue } from '../domain/remote-value.js';

/** How long requests from concurrent reconciles are gathered into one batch. */
const COALESCE_WINDOW_MS = 5;
/** How many calls one identity's batch makes at the same time. */
export const CALLS_IN_PARALLEL = 8;

/**
 * Splits distinct requests into backend calls: those the backend can batch in calls of at most its
 * `batchSize`, every other request in a call of its own. So ⌈batchable requests / batchSize⌉ calls, plus one
 * per request that cannot share a call (a pinned Secrets Manager version, an SSM path, any Vault read).
 */
export function planCalls(
  backend: Pick<SecretBackend, 'batchSize' | 'canBatch'>,
  requests: readonly RemoteRequest[],
): RemoteRequest[][] {
  const size = Math.max(1, Math.floor(backend.batchSize));
  const calls: RemoteRequest[][] = [];
  const batchable: RemoteRequest[] = [];
  for (const request of requests) {
    if (size > 1 && (backend.canBatch?.(request) ?? true)) batchable.push(request);
    else calls.push([request]);
  }
  for (let start = 0; start < batchable.length; start += size)
    calls.push(batchable.slice(start, start + size));
  return calls;
}

/** Updated in place when a refresh reads the key again: one object per key, not one per key and cycle. */
interface CachedValue {
  value: RemoteValue | Error;
  fetchedAt: number;
}

/**
 * One `fetch` waiting for the values of its keys: one promise however many keys it waits for. A refresh tick's
 * prefetch asks for thousands, and a promise (with its callbacks) per key was garbage that lived as long as the
 * identity's calls, long enough to be promoted to the old generation and collected there by full collections.
 * The first whole-backend failure rejects it; answers after that are ignored.
 */
class Waiter {
  private settled = false;
  private resolveAll!: () => void;
  private rejectAll!: (error: unknown) => void;
  readonly done = new Promise<void>((resolve, reject) => {
    this.resolveAll = resolve;
    this.rejectAll = reject;
  });

  /** Waits for `remaining` keys (at least one), whose answers go into `results` (a prefetch keeps none). */
  constructor(
    private readonly results: Map<string, RemoteValue | Error> | undefined,
    private remaining: number,
  ) {}

  resolve(key: string, value: RemoteValue | Error): void {
    if (this.settled) return;
    this.results?.set(key, value);
    if (--this.remaining === 0) {
      this.settled = true;
      this.resolveAll();
    }
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectAll(error);
  }
}

const isValue = (value: RemoteValue | Error): value is RemoteValue => !(value instanceof Error);

/**
 * Entries by identity, then by request key: a namespace never reads through a role it was not permitted. Two
 * levels, not one map of joined keys, so a lookup builds no string.
 */
class ByIdentity<V> {
  private readonly maps = new Map<string, Map<string, V>>();

  get(identity: BackendIdentity, key: string): V | undefined {
    return this.maps.get(identity.cacheKey)?.get(key);
  }

  set(identity: BackendIdentity, key: string, value: V): void {
    let map = this.maps.get(identity.cacheKey);
    if (!map) {
      map = new Map();
      this.maps.set(identity.cacheKey, map);
    }
    map.set(key, value);
  }

  delete(identity: BackendIdentity, key: string): void {
    this.maps.get(identity.cacheKey)?.delete(key);
  }

  /** Removes the entries `drop` says to, and identities left with none. */
  deleteWhere(drop: (value: V) => boolean): void {
    for (const [identityKey, map] of this.maps) {
      for (const [key, value] of map) if (drop(value)) map.delete(key);
      if (map.size === 0) this.maps.delete(identityKey);
    }
  }
}

/** A request gathered into a batch, and who waits for it; while its call runs, also the in-flight entry. */
interface PendingRequest {
  readonly request: RemoteRequest;
  readonly waiters: Waiter[];
  /** When its call started (set when the batch runs). */
  startedAt: number;
}

interface PendingBatch {
  readonly backend: SecretBackend;
  readonly identity: BackendIdentity;
  readonly requests: Map<string, PendingRequest>;
}

/**
 * Reads remote values for every ExternalSecret through one place, so that reads are shared: a value fetched
 * for one object serves every other object of the same identity that needs a value at least that fresh, and
 * requests made within a few milliseconds of each other are deduplicated and batched into as few backend calls
 * as the backend allows; a request for a value already being fetched (recently enough) waits for that call
 * instead of making another, which matters most when a slow or throttled backend keeps calls open for seconds.
 * Cache entries are keyed by identity, so a namespace never reads through a role it was
 * not permitted to use.
 */
@Injectable()
export class ValueFetcher {
  private readonly cache = new ByIdentity<CachedValue>();
  private readonly pending = new Map<string, PendingBatch>();
  private readonly inFlight = new ByIdentity<PendingRequest>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Map<string, { until: number; failures: number; error: BackendError }>();

  constructor(@Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig) {}

  /**
   * Values for the requests, each fetched no earlier than `freshAfter` (epoch ms). The map holds an Error for a
   * request that failed alone (e.g. not found); the promise rejects when the backend failed as a whole.
   */
  async fetch(
    backend: SecretBackend,
    identity: BackendIdentity,
    requests: readonly RemoteRequest[],
    freshAfter: number,
  ): Promise<Map<string, RemoteValue | Error>> {
    const results = new Map<string, RemoteValue | Error>();
    await this.read(backend, identity, requests, freshAfter, results);
    return results;
  }

  /**
   * Makes sure the values are in the cache, fetched no earlier than `freshAfter`, without collecting them: a
   * refresh tick's reconciles read them from the cache. Rejects when the backend failed as a whole.
   */
  async prefetch(
    backend: SecretBackend,
    identity: BackendIdentity,
    requests: readonly RemoteRequest[],
    freshAfter: number,
  ): Promise<void> {
    await this.read(backend, identity, requests, freshAfter, undefined);
  }

  private async read(
    backend: SecretBackend,
    identity: BackendIdentity,
    requests: readonly RemoteRequest[],
    freshAfter: number,
    results: Map<string, RemoteValue | Error> | undefined,
  ): Promise<void> {
    const joins = new Map<string, PendingRequest>();
    const calls = new Map<string, RemoteRequest>();
    for (const request of requests) {
      const key = requestKey(request);
      // A prefetch asks for thousands of keys: each is looked up once, in maps.
      if (results?.has(key) || calls.has(key) || joins.has(key)) continue;
      const cached = this.cache.get(identity, key);
      const flight = this.inFlight.get(identity, key);
      if (cached && cached.fetchedAt >= freshAfter) results?.set(key, cached.value);
      else if (flight && flight.startedAt >= freshAfter) joins.set(key, flight);
      else calls.set(key, request);
    }
    // Decided before anyone waits: a request that would need a call of a backend that just failed as a whole is
    // refused at once (the call rate falls while it recovers), and nothing is left waiting unobserved.
    const pause = this.backoff.get(identity.cacheKey);
    if (calls.size > 0 && pause !== undefined && pause.until > Date.now()) throw pause.error;
    if (joins.size + calls.size === 0) return;
    const waiter = new Waiter(results, joins.size + calls.size);
    for (const flight of joins.values()) flight.waiters.push(waiter);
    for (const [key, request] of calls) this.enqueue(backend, identity, key, request, waiter);
    await waiter.done;
  }

  /**
   * Whether the cache holds, for every request, the very value object in `expected` (same index), fetched no
   * earlier than `freshAfter`: no call, no promise and no allocation for a reconcile that only needs to know
   * whether anything changed. A byte-identical answer is kept as the cached object, so "same" is `===`.
   */
  holdsUnchanged(
    identity: BackendIdentity,
    requests: readonly RemoteRequest[],
    expected: ReadonlyArray<RemoteValue | Error>,
    freshAfter: number,
  ): boolean {
    for (let index = 0; index < requests.length; index++) {
      const cached = this.cache.get(identity, requestKey(requests[index]!));
      if (!cached || cached.fetchedAt < freshAfter || cached.value !== expected[index]) return false;
    }
    return true;
  }

  private enqueue(
    backend: SecretBackend,
    identity: BackendIdentity,
    key: string,
    request: RemoteRequest,
    waiter: Waiter,
  ): void {
    let batch = this.pending.get(identity.cacheKey);
    if (!batch) {
      batch = { backend, identity, requests: new Map() };
      this.pending.set(identity.cacheKey, batch);
    }
    const entry = batch.requests.get(key) ?? { request, waiters: [], startedAt: 0 };
    entry.waiters.push(waiter);
    batch.requests.set(key, entry);
    this.flushTimer ??= setTimeout(() => this.flush(), COALESCE_WINDOW_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const batches = [...this.pending.values()];
    this.pending.clear();
    // run() settles every waiter itself; if it ever rejected, waiters could hang forever: a defect, so fatal.
    for (const batch of batches)
      this.run(batch).catch((error: unknown) => failFast('value fetcher failed', error));
  }

  /**
   * Reads one identity's gathered requests in calls of at most the backend's `batchSize` (requests it cannot
   * batch go alone), a few calls at a time. After a transient failure of a call, the calls not yet made are not
   * made: their requests fail with the same error, as the backend is backed off.
   */
  private async run({ backend, identity, requests }: PendingBatch): Promise<void> {
    const startedAt = Date.now();
    for (const [key, entry] of requests) {
      entry.startedAt = startedAt;
      this.inFlight.set(identity, key, entry);
    }
    const calls = planCalls(
      backend,
      [...requests.values()].map((entry) => entry.request),
    );
    let stoppedBy: BackendError | undefined;
    const settle = (
      call: readonly RemoteRequest[],
      outcome: Map<string, RemoteValue | Error> | BackendError,
    ) => {
      for (const request of call) {
        const key = requestKey(request);
        const pending = requests.get(key)!;
        const { waiters } = pending;
        if (outcome instanceof BackendError) {
          for (const waiter of waiters) waiter.reject(outcome);
        } else {
          const answer =
            outcome.get(key) ??
            new Error(`the ${backend.backendType} backend returned nothing for a request`);
          const cached = this.cache.get(identity, key);
          // An answer byte-identical to the cached one is the cached object, so every object that reads it sees
          // "unchanged" by identity (===) instead of comparing bytes once per object.
          const value =
            cached && isValue(cached.value) && isValue(answer) && sameRemoteValue(cached.value, answer)
              ? cached.value
              : answer;
          // A slower, older read that lands late must not replace a newer value.
          if (!cached) this.cache.set(identity, key, { value, fetchedAt: startedAt });
          else if (cached.fetchedAt <= startedAt) {
            cached.value = value;
            cached.fetchedAt = startedAt;
          }
          for (const waiter of waiters) waiter.resolve(key, value);
        }
        // Synchronously after the waiters were settled: nobody can join a flight that has landed.
        if (this.inFlight.get(identity, key) === pending) this.inFlight.delete(identity, key);
      }
    };
    const worker = async () => {
      for (let call = calls.shift(); call; call = calls.shift()) {
        if (stoppedBy) {
          settle(call, stoppedBy);
          continue;
        }
        try {
          settle(call, await backend.fetchMany(identity, call));
        } catch (error) {
          const failure = toBackendError(error, `reading ${backend.backendType}`);
          if (failure.transient) stoppedBy = failure;
          settle(call, failure);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CALLS_IN_PARALLEL, calls.length) }, worker));
    if (stoppedBy) this.backOff(identity.cacheKey, stoppedBy);
    else this.backoff.delete(identity.cacheKey);
  }

  /**
   * Exponential backoff with jitter per identity after a transient whole-backend failure (unreachable,
   * throttled): 0.5 s doubling up to three refresh intervals, so a throttled backend sees fewer calls while it
   * recovers, and a recovered one is tried again within a few intervals.
   */
  private backOff(identityKey: string, error: BackendError): void {
    const failures = (this.backoff.get(identityKey)?.failures ?? 0) + 1;
    const delay = backoffDelay(failures, { initialMs: 500, maxMs: 3 * this.config.pollerIntervalMs });
    this.backoff.set(identityKey, { until: Date.now() + delay, failures, error });
  }

  /** Drops values nobody could still accept: older than two refresh intervals (a periodic job calls this). */
  sweep(): void {
    const now = Date.now();
    const horizon = 2 * this.config.pollerIntervalMs;
    this.cache.deleteWhere((cached) => now - cached.fetchedAt > horizon);
  }
}
