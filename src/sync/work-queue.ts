import { backoffDelay } from '../domain/backoff.js';

/** Urgent: new objects, spec changes, deleted Secrets. Periodic: refreshes. Urgent work is always taken first. */
export type Lane = 'urgent' | 'periodic';

export interface WorkItem {
  readonly key: string;
  readonly lane: Lane;
  /** Remote values must have been fetched at or after this time (epoch ms). */
  readonly freshAfter: number;
  readonly enqueuedAt: number;
}

export interface WorkQueueOptions {
  readonly concurrency: number;
  readonly baseRetryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly random?: () => number;
  readonly now?: () => number;
  readonly onDequeue?: (item: WorkItem) => void;
  readonly startPaused?: boolean;
}

/** What the handler says about an item: done, or retry with backoff. */
export type WorkResult = 'done' | 'retry';

/**
 * A handler answers at once when it has nothing to wait for (an unchanged refresh), else with a promise: an
 * answer at once costs the queue no promise, and frees its concurrency slot before the next item is taken.
 */
export type WorkHandler = (item: WorkItem) => WorkResult | Promise<WorkResult>;

/**
 * A keyed work queue as controllers need it: a key waits at most once (re-adding merges), is never processed
 * twice at once (re-added while in flight, it runs again after), runs with bounded concurrency, takes urgent
 * work before periodic refreshes, and retries failures with exponential backoff and jitter.
 */
export class WorkQueue {
  private readonly waiting = new Map<string, WorkItem>();
  /**
   * The waiting keys of each lane in arrival order (a Set keeps insertion order): taking one is O(1), where an
   * array's splice moved every key behind it, thousands per dequeue in a large refresh.
   */
  private readonly lanes: Record<Lane, Set<string>> = { urgent: new Set(), periodic: new Set() };
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private accepting = true;
  /** A paused queue collects and deduplicates keys but runs nothing (a standby replica). */
  private paused: boolean;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    private readonly handler: WorkHandler,
    private readonly options: WorkQueueOptions,
  ) {
    this.paused = options.startPaused ?? false;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  add(key: string, lane: Lane, freshAfter = this.now()): void {
    if (!this.accepting) return;
    const existing = this.waiting.get(key);
    if (existing) {
      const promote = lane === 'urgent' && existing.lane === 'periodic';
      this.waiting.set(key, {
        ...existing,
        lane: promote ? 'urgent' : existing.lane,
        freshAfter: Math.max(existing.freshAfter, freshAfter),
      });
      if (promote) {
        this.lanes.periodic.delete(key);
        this.lanes.urgent.add(key);
      }
    } else {
      this.waiting.set(key, { key, lane, freshAfter, enqueuedAt: this.now() });
      this.lanes[lane].add(key);
    }
    this.pump();
  }

  /** Starts running work (e.g. when this replica becomes the leader). */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Stops starting work; what is in flight finishes. Resolves when nothing is in flight. */
  async pause(): Promise<void> {
    this.paused = true;
    await Promise.all(this.inFlight.values());
  }

  /** Forgets a key entirely (its object was deleted): no pending run, no retry, no backoff state. */
  forget(key: string): void {
    this.waiting.delete(key);
    this.lanes.urgent.delete(key);
    this.lanes.periodic.delete(key);
    this.failures.delete(key);
    clearTimeout(this.retryTimers.get(key));
    this.retryTimers.delete(key);
  }

  get depth(): number {
    return this.waiting.size;
  }

  get active(): number {
    return this.inFlight.size;
  }

  /** Stops taking work and waits for what is in flight; nothing is abandoned half-way. */
  async drain(): Promise<void> {
    this.accepting = false;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    this.waiting.clear();
    this.lanes.urgent.clear();
    this.lanes.periodic.clear();
    await Promise.all(this.inFlight.values());
  }

  private pump(): void {
    while (this.accepting && !this.paused && this.inFlight.size < this.options.concurrency) {
      const item = this.next();
      if (!item) return;
      this.waiting.delete(item.key);
      this.options.onDequeue?.(item);
      let answer: WorkResult | Promise<WorkResult>;
      try {
        answer = this.handler(item);
      } catch {
        answer = 'retry';
      }
      if (typeof answer === 'string') {
        this.finish(item, answer);
        continue;
      }
      const run = answer
        .catch((): WorkResult => 'retry')
        .then((result) => this.finish(item, result))
        .finally(() => {
          this.inFlight.delete(item.key);
          this.pump();
        });
      this.inFlight.set(item.key, run);
    }
  }

  /** The first waiting key that is not in flight, urgent lane first. */
  private next(): WorkItem | undefined {
    for (const lane of [this.lanes.urgent, this.lanes.periodic]) {
      for (const key of lane) {
        // A key re-added while it runs waits until the run ends (at most `concurrency` keys are skipped).
        if (this.inFlight.has(key)) continue;
        lane.delete(key);
        return this.waiting.get(key)!;
      }
    }
    return undefined;
  }

  /** Done: the key's failures are forgotten; retry: it comes back after a backoff that grows per failure. */
  private finish(item: WorkItem, result: WorkResult): void {
    if (result === 'done') {
      this.failures.delete(item.key);
      return;
    }
    const failures = (this.failures.get(item.key) ?? 0) + 1;
    this.failures.set(item.key, failures);
    const delay = backoffDelay(
      failures,
      { initialMs: this.options.baseRetryDelayMs, maxMs: this.options.maxRetryDelayMs },
      this.random,
    );
    clearTimeout(this.retryTimers.get(item.key));
    this.retryTimers.set(
      item.key,
      setTimeout(() => {
        this.retryTimers.delete(item.key);
        // As fresh as the attempt that failed needed, no fresher: a value another object's read fetched since
        // then serves the retry without a call of its own.
        this.add(item.key, 'periodic', item.freshAfter);
      }, delay),
    );
  }
}
