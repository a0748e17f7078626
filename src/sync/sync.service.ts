import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ValueFetcher } from '../backends/value-fetcher.service.js';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';
import { ClusterCache, type ClusterEventListener } from '../kubernetes/cluster-cache.service.js';
import { LeaderElector } from '../kubernetes/leader-elector.service.js';
import { LOGGER } from '../logging/logging.constants.js';
import { ControllerMetrics } from '../metrics/controller-metrics.service.js';
import type { ExternalSecret } from '../domain/external-secret.js';
import { retainedSecretOwner } from '../domain/secret-manifest.js';
import type { FetchPlan } from './fetch-plan.js';
import { Reconciler, type ReconcileResult } from './reconciler.service.js';
import { RefreshScheduler } from './refresh-scheduler.js';
import { RolloutRestarter } from './rollout-restarter.service.js';
import { observe, syncTrigger, type ObservedObject } from '../domain/sync-trigger.js';
import { WorkQueue, type WorkItem, type WorkResult } from './work-queue.js';

const CONCURRENCY = 10;
const SCHEDULER_TICK_MS = 200;

/** The periodic jobs, registered by name with @nestjs/schedule (which also stops them on shutdown). */
export const REFRESH_JOB = 'refresh-due-external-secrets';
export const CACHE_SWEEP_JOB = 'sweep-value-cache';

const keyOf = (object: { metadata?: { namespace?: string; name?: string } }) =>
  `${object.metadata?.namespace}/${object.metadata?.name}`;

/**
 * The controller loop: informer events and the refresh scheduler only enqueue keys; the work queue runs the
 * reconciler. New objects, spec changes and deleted Secrets go in the urgent lane, ahead of refreshes.
 */
@Injectable()
export class SyncService implements ClusterEventListener, BeforeApplicationShutdown {
  private readonly queue: WorkQueue;
  private readonly scheduler: RefreshScheduler;
  private readonly plans = new Map<string, FetchPlan>();
  /** What each ExternalSecret looked like when last seen (generation, labels, annotations). */
  private readonly observed = new Map<string, ObservedObject>();
  /** The policy annotations last seen per namespace, so that only a change of them re-checks its objects. */
  private readonly namespacePolicies = new Map<string, string>();

  constructor(
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly cluster: ClusterCache,
    private readonly reconciler: Reconciler,
    private readonly fetcher: ValueFetcher,
    private readonly metrics: ControllerMetrics,
    private readonly elector: LeaderElector,
    private readonly restarter: RolloutRestarter,
    private readonly jobs: SchedulerRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.queue = new WorkQueue((item) => this.process(item), {
      concurrency: CONCURRENCY,
      // Nothing runs before this process leads (at once without leader election, once the informers' initial
      // lists are in): a standby collects keys but writes nothing, and the first reads are prefetched in batches.
      startPaused: true,
      baseRetryDelayMs: 1000,
      maxRetryDelayMs: 5 * 60_000,
      onDequeue: (item) =>
        this.metrics.queueWait.observe({ lane: item.lane }, (Date.now() - item.enqueuedAt) / 1000),
    });
    this.scheduler = new RefreshScheduler(config.pollerIntervalMs);
    // A restart's outcome goes into the ExternalSecret's status: a reconcile from cached values writes it.
    this.restarter.onOutcome = (key) => this.queue.add(key, 'urgent', 0);
  }

  /**
   * Starts the informers (their initial lists enqueue every object), then works: at once, or with leader
   * election only while this replica leads.
   */
  async start(): Promise<void> {
    await this.cluster.start(this);
    // Secrets that deletionPolicy Retain kept for ExternalSecrets deleted while no replica was working.
    for (const secret of this.cluster.listManagedSecrets()) this.releaseIfOrphaned(secret);
    this.addJob(CACHE_SWEEP_JOB, this.config.pollerIntervalMs, () => this.fetcher.sweep());
    this.logger.info(
      {
        pollerIntervalMs: this.config.pollerIntervalMs,
        pollingDisabled: this.config.pollingDisabled,
        leaderElection: this.config.leaderElection.enabled,
      },
      'watching ExternalSecrets',
    );
    if (this.config.leaderElection.enabled) {
      this.elector.start({
        onStartedLeading: () => this.lead(),
        onStoppedLeading: () => this.abdicate(),
      });
    } else {
      this.metrics.leader.set(1);
      this.lead();
    }
  }

  /**
   * Shutdown: stop intake, let in-flight syncs finish (no partial writes), run the restarts still waiting out
   * their coalescing window, then release the lease.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopJobs();
    await this.cluster.stop();
    await this.queue.drain();
    this.restarter.onOutcome = () => undefined;
    await this.restarter.flush();
    await this.elector.stop();
  }

  private lead(): void {
    this.prefetchFirstSyncs();
    this.queue.resume();
    if (!this.config.pollingDisabled) this.addJob(REFRESH_JOB, SCHEDULER_TICK_MS, () => this.refreshDue());
  }

  /**
   * The objects not yet synced by this process (the informers' initial lists: every object after a restart;
   * what a standby collected) have no plan yet. Their reads are planned from the cache and fetched per identity
   * in full batches as the queue starts, as a refresh tick's are, and their reconciles join those calls.
   * Without this, reconciles ten at a time asked for their own few keys each: at 1,000 objects a restart made
   * 132 BatchGetSecretValue calls where a cycle makes 32.
   */
  private prefetchFirstSyncs(): void {
    const startedAt = Date.now();
    const byIdentity = new Map<string, FetchPlan[]>();
    for (const externalSecret of this.cluster.listExternalSecrets()) {
      if (!this.reconciler.handles(externalSecret) || this.plans.has(keyOf(externalSecret))) continue;
      const plan = this.reconciler.planOf(externalSecret);
      if (!plan) continue;
      const plans = byIdentity.get(plan.identity.cacheKey) ?? [];
      plans.push(plan);
      byIdentity.set(plan.identity.cacheKey, plans);
    }
    for (const plans of byIdentity.values()) {
      const { backend, identity } = plans[0]!;
      const requests = plans.flatMap((plan) => plan.requests);
      // A failure reaches each reconcile through its own fetch (retried by the queue); nothing waits on this one.
      this.fetcher.prefetch(backend, identity, requests, startedAt).catch(() => undefined);
    }
  }

  /** A named periodic job; a failure of one run is logged and the next run goes ahead. */
  private addJob(name: string, everyMs: number, run: () => void | Promise<void>): void {
    const tick = () => {
      Promise.resolve()
        .then(run)
        .catch((error: unknown) => this.logger.error({ job: name, err: error }, 'periodic job failed'));
    };
    this.jobs.addInterval(name, setInterval(tick, everyMs));
  }

  private stopJobs(): void {
    for (const name of [REFRESH_JOB, CACHE_SWEEP_JOB]) {
      if (this.jobs.doesExist('interval', name)) this.jobs.deleteInterval(name);
    }
  }

  /**
   * Leadership lost (the lease could not be renewed in time, so another replica may lead soon): stop writing
   * at once and exit, so the process restarts as a clean standby (what client-go controllers do).
   */
  private abdicate(): void {
    this.stopJobs();
    const exit = () => {
      this.logger.fatal('stopped working after losing leadership; exiting to restart as a standby');
      process.exit(1);
    };
    this.queue.pause().then(exit, exit);
  }

  externalSecretAdded(externalSecret: ExternalSecret): void {
    this.observed.set(keyOf(externalSecret), observe(externalSecret));
    if (this.reconciler.handles(externalSecret)) this.queue.add(keyOf(externalSecret), 'urgent');
  }

  /**
   * A spec change, or a change of labels or annotations (force-sync), syncs at once with values read now (an
   * urgent item asks for values no older than itself, so the shared cache is bypassed for its keys). Status
   * echoes of our own writes change neither and are ignored.
   */
  externalSecretUpdated(externalSecret: ExternalSecret): void {
    const key = keyOf(externalSecret);
    const current = observe(externalSecret);
    const trigger = syncTrigger(this.observed.get(key), current);
    this.observed.set(key, current);
    if (trigger === undefined) return;
    if (this.reconciler.handles(externalSecret)) this.queue.add(key, 'urgent');
  }

  externalSecretDeleted(externalSecret: ExternalSecret): void {
    const key = keyOf(externalSecret);
    this.observed.delete(key);
    this.plans.delete(key);
    this.reconciler.forget(key);
    this.restarter.forget(key);
    this.scheduler.unschedule(key);
    this.queue.forget(key);
    this.metrics.forgetExternalSecret(externalSecret.metadata.name!, externalSecret.metadata.namespace!);
    const secret = this.cluster.getManagedSecret(
      externalSecret.metadata.namespace!,
      externalSecret.metadata.name!,
    );
    if (secret) this.releaseIfOrphaned(secret);
  }

  /** A retained Secret whose ExternalSecret is gone goes through the queue (leader only) to be released. */
  private releaseIfOrphaned(secret: V1Secret): void {
    const { namespace, name } = secret.metadata!;
    if (retainedSecretOwner(secret) !== name || this.cluster.getExternalSecret(namespace!, name!)) return;
    this.queue.add(keyOf(secret), 'urgent');
  }

  /**
   * Re-checks a namespace's ExternalSecrets when its policy annotations changed. Other namespace updates (status,
   * labels, the updates an informer re-list emits for every namespace) enqueue nothing.
   */
  namespaceChanged(namespace: V1Namespace): void {
    const name = namespace.metadata?.name ?? '';
    const annotations = namespace.metadata?.annotations ?? {};
    const policy = JSON.stringify([
      annotations[this.config.rolePermittedAnnotation],
      annotations[this.config.namingPermittedAnnotation],
    ]);
    const previous = this.namespacePolicies.get(name);
    this.namespacePolicies.set(name, policy);
    if (previous === undefined || previous === policy) return;
    for (const externalSecret of this.cluster.listExternalSecrets(name)) {
      if (this.reconciler.handles(externalSecret)) this.queue.add(keyOf(externalSecret), 'periodic');
    }
  }

  /**
   * A managed Secret changed by anyone but this controller (an edit by hand, a key removed) is reconciled at
   * once, also with polling disabled, with the values already cached (no backend call while they are fresh):
   * the reconcile writes only if something the controller owns differs. The echo of its own writes is ignored.
   */
  managedSecretChanged(secret: V1Secret): void {
    const key = keyOf(secret);
    if (this.reconciler.isOwnWrite(key, secret)) return;
    const externalSecret = this.cluster.getExternalSecret(
      secret.metadata!.namespace!,
      secret.metadata!.name!,
    );
    if (externalSecret && this.reconciler.handles(externalSecret)) this.queue.add(key, 'urgent', 0);
    else if (!externalSecret) this.releaseIfOrphaned(secret);
  }

  /** A managed Secret deleted by hand is recreated at once, also with polling disabled. */
  managedSecretDeleted(secret: V1Secret): void {
    const { namespace, name } = secret.metadata!;
    if (this.cluster.getExternalSecret(namespace!, name!)) this.queue.add(keyOf(secret), 'urgent');
  }

  private process(item: WorkItem): WorkResult | Promise<WorkResult> {
    this.metrics.queueDepth.set(this.queue.depth);
    const reconciled = this.reconciler.reconcile(item);
    return reconciled instanceof Promise
      ? reconciled.then((result) => this.reconciled(item, result))
      : this.reconciled(item, reconciled);
  }

  /** Schedules the object's next refresh, or stops refreshing it (gone, or not ours). */
  private reconciled(
    item: WorkItem,
    { result, refresh, plan, refreshIntervalMs }: ReconcileResult,
  ): WorkResult {
    if (!refresh) {
      // Gone (or not ours): also after a delete that raced this reconcile.
      this.plans.delete(item.key);
      this.scheduler.unschedule(item.key);
    } else {
      if (plan) this.plans.set(item.key, plan);
      if (!this.config.pollingDisabled) {
        const intervalMs = refreshIntervalMs ?? this.config.pollerIntervalMs;
        this.scheduler.schedule(item.key, plan?.identity.cacheKey ?? item.key, intervalMs);
      }
    }
    return result;
  }

  /**
   * Enqueues the refreshes that are due. For each identity, the reads of all its due objects are fetched
   * first, together, in full batches; the reconciles then find them in the fetcher's cache.
   */
  private async refreshDue(): Promise<void> {
    const tickTime = Date.now();
    const groups = this.scheduler.takeDue();
    await Promise.all(
      [...groups.values()].map(async (keys) => {
        const plans = keys.map((key) => this.plans.get(key)).filter((plan) => plan !== undefined);
        const first = plans[0];
        if (first) {
          const requests = plans.flatMap((plan) => plan.requests);
          await this.fetcher
            .prefetch(first.backend, first.identity, requests, tickTime)
            .catch(() => undefined);
        }
        for (const key of keys) this.queue.add(key, 'periodic', tickTime);
      }),
    );
    this.metrics.queueDepth.set(this.queue.depth);
  }
}
