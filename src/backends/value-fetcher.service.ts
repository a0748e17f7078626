import { Injectable } from '@nestjs/common';
import { ControllerConfig } from '../config/controller-config.js';
import { BackendError, toBackendError } from './backend-errors.js';
import {
  requestKey,
  type BackendIdentity,
  type RemoteRequest,
  type RemoteValue,
  type SecretBackend,
} from './secret-backend.js';

/** How long requests from concurrent reconciles are gathered into one batch. */
const COALESCE_WINDOW_MS = 5;

interface CachedValue {
  readonly value: RemoteValue | Error;
  readonly fetchedAt: number;
}

interface Waiter {
  resolve(value: RemoteValue | Error): void;
  reject(error: unknown): void;
}

/** Cache and in-flight entries are per identity: a namespace never reads through a role it was not permitted. */
const entryKey = (identity: BackendIdentity, key: string) => `${identity.cacheKey}\u0000${key}`;

/** A value being fetched now, and who waits for it. */
interface InFlight {
  readonly startedAt: number;
  readonly waiters: Waiter[];
}

interface PendingBatch {
  readonly backend: SecretBackend;
  readonly identity: BackendIdentity;
  readonly requests: Map<string, { request: RemoteRequest; waiters: Waiter[] }>;
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
  private readonly cache = new Map<string, CachedValue>();
  private readonly pending = new Map<string, PendingBatch>();
  private readonly inFlight = new Map<string, InFlight>();
  private flushTimer: NodeJS.Timeout | undefined;
  private lastSweep = Date.now();
  private readonly backoff = new Map<string, { until: number; failures: number; error: BackendError }>();

  constructor(private readonly config: ControllerConfig) {}

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
    const requested = new Set<string>();
    const waiting: Array<Promise<void>> = [];
    const pause = this.backoff.get(identity.cacheKey);
    const mustWait = pause !== undefined && pause.until > Date.now();
    for (const request of requests) {
      const key = requestKey(request);
      if (requested.has(key)) continue;
      requested.add(key);
      const entry = entryKey(identity, key);
      const cached = this.cache.get(entry);
      if (cached && cached.fetchedAt >= freshAfter) {
        results.set(key, cached.value);
        continue;
      }
      const flight = this.inFlight.get(entry);
      if (flight && flight.startedAt >= freshAfter) {
        waiting.push(
          new Promise<RemoteValue | Error>((resolve, reject) =>
            flight.waiters.push({ resolve, reject }),
          ).then((value) => void results.set(key, value)),
        );
        continue;
      }
      // A backend that just failed as a whole is left alone until its backoff ends: the call rate falls.
      if (mustWait) throw pause.error;
      waiting.push(
        this.enqueue(backend, identity, key, request).then((value) => void results.set(key, value)),
      );
    }
    await Promise.all(waiting);
    return results;
  }

  private enqueue(backend: SecretBackend, identity: BackendIdentity, key: string, request: RemoteRequest) {
    return new Promise<RemoteValue | Error>((resolve, reject) => {
      let batch = this.pending.get(identity.cacheKey);
      if (!batch) {
        batch = { backend, identity, requests: new Map() };
        this.pending.set(identity.cacheKey, batch);
      }
      const entry = batch.requests.get(key) ?? { request, waiters: [] };
      entry.waiters.push({ resolve, reject });
      batch.requests.set(key, entry);
      this.flushTimer ??= setTimeout(() => this.flush(), COALESCE_WINDOW_MS);
    });
  }

  private flush(): void {
    this.flushTimer = undefined;
    const batches = [...this.pending.values()];
    this.pending.clear();
    for (const batch of batches) void this.run(batch);
    this.sweep();
  }

  private async run({ backend, identity, requests }: PendingBatch): Promise<void> {
    const startedAt = Date.now();
    for (const [key, { waiters }] of requests)
      this.inFlight.set(entryKey(identity, key), { startedAt, waiters });
    try {
      const values = await backend.fetchMany(
        identity,
        [...requests.values()].map((entry) => entry.request),
      );
      for (const [key, { waiters }] of requests) {
        const value =
          values.get(key) ?? new Error(`the ${backend.backendType} backend returned nothing for a request`);
        this.cache.set(entryKey(identity, key), { value, fetchedAt: startedAt });
        for (const waiter of waiters) waiter.resolve(value);
      }
      this.backoff.delete(identity.cacheKey);
    } catch (error) {
      const failure = toBackendError(error, `reading ${backend.backendType}`);
      if (failure.transient) this.backOff(identity.cacheKey, failure);
      for (const { waiters } of requests.values()) for (const waiter of waiters) waiter.reject(failure);
    } finally {
      // Synchronously after the waiters were settled: nobody can join a flight that has landed.
      for (const [key, { waiters }] of requests) {
        const entry = entryKey(identity, key);
        if (this.inFlight.get(entry)?.waiters === waiters) this.inFlight.delete(entry);
      }
    }
  }

  /**
   * Exponential backoff with jitter per identity after a transient whole-backend failure (unreachable,
   * throttled): 0.5 s doubling up to three refresh intervals, so a throttled backend sees fewer calls while it
   * recovers, and a recovered one is tried again within a few intervals.
   */
  private backOff(identityKey: string, error: BackendError): void {
    const failures = (this.backoff.get(identityKey)?.failures ?? 0) + 1;
    const delay =
      Math.min(3 * this.config.pollerIntervalMs, 500 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
    this.backoff.set(identityKey, { until: Date.now() + delay, failures, error });
  }

  /** Drops values nobody could still accept: older than two refresh intervals. */
  private sweep(): void {
    const now = Date.now();
    const horizon = 2 * this.config.pollerIntervalMs;
    if (now - this.lastSweep < horizon) return;
    this.lastSweep = now;
    for (const [key, cached] of this.cache) if (now - cached.fetchedAt > horizon) this.cache.delete(key);
  }
}
