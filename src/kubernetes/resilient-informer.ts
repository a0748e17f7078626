import {
  ADD,
  DELETE,
  ERROR,
  ListWatch,
  UPDATE,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ProbeReport, ProbeSubject } from '../health/probe-registry.service.js';
import { ActivityWatch, withoutManagedFields } from './activity-watch.js';
import { KubeApiError } from './api-errors.js';
import { backoffDelay } from '../domain/backoff.js';

export interface InformerHandlers<T> {
  onAdd?(object: T): void;
  onUpdate?(object: T): void;
  onDelete?(object: T): void;
}

const MAX_RESTART_DELAY_MS = 30_000;

/**
 * A client-node informer that restarts itself: the library's informer stops on any error but 410 (which it
 * handles by re-listing, and its re-list emits updates only, not a KES-style DELETED_ALL), so the owner must
 * restart it, with exponential backoff. Tells the probes whether its cache holds the initial list (ready) and
 * whether it has been down longer than the stall threshold (not live).
 */
export class ResilientInformer<T extends KubernetesObject> implements ProbeSubject {
  private readonly informer: ListWatch<T>;
  private readonly watch: ActivityWatch;
  private downSince: number | undefined;
  /** Restarts since the informer last ran healthy. */
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private errors = 0;

  constructor(
    readonly name: string,
    kubeConfig: KubeConfig,
    private readonly path: string,
    list: ListPromise<T>,
    labelSelector: string | undefined,
    handlers: InformerHandlers<T>,
    private readonly logger: Logger,
    private readonly stallThresholdMs: number,
    private readonly onRestart: () => void = () => undefined,
    prepare: (object: T) => T = withoutManagedFields,
  ) {
    this.watch = new ActivityWatch(
      kubeConfig,
      Math.max(1, Math.round(stallThresholdMs / 2000)),
      prepare as (object: unknown) => unknown,
    );
    // Listed and watched objects alike pass through `prepare` on their way into the cache.
    const preparedList: ListPromise<T> = async () => {
      const listed = await list();
      listed.items.forEach(prepare);
      return listed;
    };
    this.informer = new ListWatch(path, this.watch, preparedList, false, labelSelector);
    this.informer.on(ADD, (object) => {
      this.healthy();
      handlers.onAdd?.(object);
    });
    this.informer.on(UPDATE, (object) => {
      this.healthy();
      handlers.onUpdate?.(object);
    });
    this.informer.on(DELETE, (object) => {
      this.healthy();
      handlers.onDelete?.(object);
    });
    this.informer.on(ERROR, (error) => {
      this.errors += 1;
      this.restartLater(error);
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  /** The initial list is in the cache once the informer has a resource version to watch from. */
  get synced(): boolean {
    return this.informer.latestResourceVersion() !== '';
  }

  /**
   * Not live when the watch has been failing, or silent (no event, no bookmark, no reconnect) for longer than
   * the stall threshold, twice the server-side watch timeout: a watch stuck on a dead connection.
   */
  live(): ProbeReport {
    const now = Date.now();
    if (this.downSince !== undefined && now - this.downSince > this.stallThresholdMs) {
      return {
        ok: false,
        detail: `${this.name} watch down for ${Math.round((now - this.downSince) / 1000)}s`,
      };
    }
    if (this.synced && now - this.watch.lastActivity > this.stallThresholdMs) {
      return {
        ok: false,
        detail: `${this.name} watch silent for ${Math.round((now - this.watch.lastActivity) / 1000)}s`,
      };
    }
    return { ok: true };
  }

  ready(): ProbeReport {
    return this.synced ? { ok: true } : { ok: false, detail: `${this.name} initial list not cached yet` };
  }

  private healthy(): void {
    this.downSince = undefined;
    this.restarts = 0;
  }

  private restartLater(error: unknown): void {
    if (this.stopped) return;
    this.downSince ??= Date.now();
    this.restarts++;
    const delay = backoffDelay(this.restarts, { initialMs: 500, maxMs: MAX_RESTART_DELAY_MS });
    this.logger.warn(
      {
        informer: this.name,
        // One line: list failures are KubeApiErrors already; a watch failure is described the same way.
        err: (error instanceof KubeApiError ? error : new KubeApiError(`watch ${this.path}`, error)).message,
        retryInMs: Math.round(delay),
      },
      'watch failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.onRestart();
      const errorsBefore = this.errors;
      this.informer.start().then(
        // start() resolves once the list and the watch request went through, or after reporting an error.
        () => {
          if (this.errors === errorsBefore) this.healthy();
        },
        (startError: unknown) => this.restartLater(startError),
      );
    }, delay);
  }
}
