import { Inject, Injectable } from '@nestjs/common';
import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sanitizeErrorText } from '../backends/backend-errors.js';
import { BackendRegistry } from '../backends/backend-registry.service.js';
import { ValueFetcher } from '../backends/value-fetcher.service.js';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';
import { describeKeyChanges, keyChanges } from '../domain/key-changes.js';
import { statusCodeOf } from '../kubernetes/api-errors.js';
import { ClusterCache } from '../kubernetes/cluster-cache.service.js';
import { EventReason, EventRecorder } from '../kubernetes/event-recorder.service.js';
import { ExternalSecretStatusStore } from '../kubernetes/external-secret-status.store.js';
import { SecretStore } from '../kubernetes/secret.store.js';
import { LOGGER } from '../logging/logging.constants.js';
import { ControllerMetrics } from '../metrics/controller-metrics.service.js';
import type { ExternalSecret, ExternalSecretStatus } from '../domain/external-secret.js';
import { requestKey, type RemoteValue } from '../domain/remote-value.js';
import { normalizeSpec, type NormalizedSpec } from '../domain/normalize-spec.js';
import {
  digestSecretData,
  isManagedSecretOf,
  liveOwnerReference,
  retainedSecretOwner,
  replacementReason,
  secretNeedsWrite,
  writtenDigest,
} from '../domain/secret-manifest.js';
import { desiredSecretOf, planFetch, type FetchPlan } from './fetch-plan.js';
import { RolloutRestarter } from './rollout-restarter.service.js';
import { classifyFailure, SyncFailure } from './sync-failure.js';
import {
  isNewFailure,
  nextStatus,
  SYNC_REQUEST_ANNOTATION,
  type SyncOutcome,
} from '../domain/sync-status.js';
import type { WorkItem, WorkResult } from './work-queue.js';

/**
 * A write of the Secret: what kind (`restored` is the same content written again after the Secret was changed
 * by hand), and which keys it added, changed or removed (names only; absent when no key did).
 */
type SecretWrite = { readonly changes?: string } & (
  { readonly kind: 'created' | 'updated' | 'restored' } | { readonly kind: 'replaced'; readonly why: string }
);

const EVENT_OF_WRITE = {
  created: EventReason.Created,
  updated: EventReason.Updated,
  restored: EventReason.Restored,
  replaced: EventReason.Replaced,
} as const;

/** What a sync read and did: the values, the Secret's resourceVersion after it, and its write (if any). */
interface Synced {
  readonly values: ReadonlyMap<string, RemoteValue | Error>;
  readonly liveVersion: string | undefined;
  readonly written?: SecretWrite;
}

/** The controller's last write of a Secret: its resourceVersion (to know the echo) and content digest. */
interface LastWrite {
  readonly resourceVersion: string | undefined;
  readonly digest: string;
}

/**
 * What a reconcile that succeeded and wrote nothing (no Secret, no status, no Event) saw. A reconcile computes
 * its result from these inputs alone, so while every one is the same (the same objects by resourceVersion, the
 * same remote values by identity: the fetcher keeps a byte-identical answer's object), it would write nothing
 * again, and a refresh is done without building, comparing or reporting anything.
 */
interface QuietSync {
  readonly namespace: string;
  readonly name: string;
  readonly externalSecretVersion: string | undefined;
  readonly secretVersion: string | undefined;
  readonly namespaceVersion: string | undefined;
  readonly rolloutRestart: string;
  readonly backendType: string;
  readonly plan: FetchPlan;
  /** The values of plan.requests, in order. */
  readonly values: ReadonlyArray<RemoteValue | Error>;
  /** What a reconcile that finds all of the above unchanged returns (made once: it is the same every time). */
  readonly result: ReconcileResult;
}

/** What a reconcile did and wants next, as controller-runtime's Result: the caller acts on it alone. */
export interface ReconcileResult {
  /** `retry`: the work queue tries again with backoff; `done`: nothing until the next event or refresh. */
  readonly result: WorkResult;
  /** Whether the object is refreshed periodically: false once it is gone or not this controller's. */
  readonly refresh: boolean;
  /** What it reads, for the refresh scheduler's prefetch (absent when the spec could not be planned). */
  readonly plan?: FetchPlan;
  /** spec.refreshInterval in ms (0: never); absent: the controller's interval (also for an invalid spec). */
  readonly refreshIntervalMs?: number;
}

/**
 * Level-triggered, idempotent sync of one ExternalSecret: normalise, authorise, fetch (shared and batched),
 * build the desired Secret, write it only on a real difference, then write status only if it changed. A
 * failure never touches the existing Secret.
 */
@Injectable()
export class Reconciler {
  private readonly lastWrites = new Map<string, LastWrite>();
  private readonly quietSyncs = new Map<string, QuietSync>();
  /** The last status written per object, and the resourceVersion of the object it was computed from. */
  private readonly writtenStatuses = new Map<
    string,
    { readonly basedOn: string | undefined; readonly status: ExternalSecretStatus }
  >();

  constructor(
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly cluster: ClusterCache,
    private readonly backends: BackendRegistry,
    private readonly fetcher: ValueFetcher,
    private readonly secrets: SecretStore,
    private readonly statuses: ExternalSecretStatusStore,
    private readonly events: EventRecorder,
    private readonly metrics: ControllerMetrics,
    private readonly restarter: RolloutRestarter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Whether a managed Secret's update is the echo of this controller's own last write (its resourceVersion):
   * anything else (an edit by hand, another tool) asks for a reconcile, which writes only on a difference.
   */
  isOwnWrite(key: string, secret: V1Secret): boolean {
    const last = this.lastWrites.get(key);
    return last !== undefined && last.resourceVersion === secret.metadata?.resourceVersion;
  }

  forget(key: string): void {
    this.lastWrites.delete(key);
    this.quietSyncs.delete(key);
    this.writtenStatuses.delete(key);
  }

  /** Whether this controller instance handles the object (INSTANCE_ID against spec.controllerId, as KES). */
  handles(externalSecret: ExternalSecret): boolean {
    const spec = externalSecret.spec ?? externalSecret.secretDescriptor;
    return (spec?.controllerId ?? '') === this.config.instanceId;
  }

  /**
   * Reconciles one object. Synchronously, with no promise, when nothing it reads changed since its last quiet
   * sync: an idle refresh of thousands of objects is then a loop, not thousands of promise chains.
   */
  reconcile(item: WorkItem): ReconcileResult | Promise<ReconcileResult> {
    return this.reconcileUnchanged(item) ?? this.reconcileFully(item);
  }

  private reconcileUnchanged(item: WorkItem): ReconcileResult | undefined {
    const quiet = this.quietSyncs.get(item.key);
    if (!quiet) return undefined;
    const started = performance.now();
    const externalSecret = this.cluster.getExternalSecret(quiet.namespace, quiet.name);
    if (!externalSecret || !this.unchangedSince(quiet, item, externalSecret)) return undefined;
    const seconds = (performance.now() - started) / 1000;
    this.metrics.recordSync(quiet.name, quiet.namespace, quiet.backendType, 'success', seconds);
    return quiet.result;
  }

  private async reconcileFully(item: WorkItem): Promise<ReconcileResult> {
    const [namespace, name] = item.key.split('/') as [string, string];
    const externalSecret = this.cluster.getExternalSecret(namespace, name);
    this.quietSyncs.delete(item.key);
    if (!externalSecret) return this.releaseRetained(namespace, name);
    if (!this.handles(externalSecret)) return { result: 'done', refresh: false };

    const started = performance.now();

    let backendType = (externalSecret.spec ?? externalSecret.secretDescriptor)?.backendType ?? 'unknown';
    let plan: FetchPlan | undefined;
    let refreshIntervalMs: number | undefined;
    let outcome: SyncOutcome;
    let synced: Synced | undefined;
    let retry = false;
    try {
      const spec = normalizeSpec(externalSecret);
      backendType = spec.backendType;
      refreshIntervalMs = spec.refreshIntervalMs;
      plan = this.plan(externalSecret, spec);
      synced = await this.sync(item.key, externalSecret, spec, plan, item.freshAfter);
      outcome = { ok: true };
      const written = synced.written;
      // Only a real change of data restarts workloads: not the first creation, not a repair to the same data.
      if ((written?.kind === 'updated' || written?.kind === 'replaced') && written.changes) {
        if (spec.rolloutRestartTargets.length > 0) {
          this.restarter.request(item.key, spec.rolloutRestartTargets, written.changes);
        }
      }
    } catch (error) {
      const failure = classifyFailure(error);
      retry = failure.retry;
      outcome = { ok: false, reason: failure.reason, message: failure.message };
    }
    const seconds = (performance.now() - started) / 1000;
    this.metrics.recordSync(name, namespace, backendType, outcome.ok ? 'success' : 'error', seconds);

    let reported: boolean;
    try {
      reported = await this.report(externalSecret, backendType, outcome, synced?.written);
    } catch (error) {
      this.logger.warn(
        {
          namespace,
          name,
          backend: backendType,
          err: sanitizeErrorText(error instanceof Error ? error.message : String(error)),
        },
        'could not write status',
      );
      return { result: 'retry', refresh: true, plan, refreshIntervalMs };
    }
    if (plan && synced && !synced.written && !reported && !retry) {
      this.quietSyncs.set(item.key, {
        namespace,
        name,
        externalSecretVersion: externalSecret.metadata.resourceVersion,
        secretVersion: synced.liveVersion,
        namespaceVersion: this.cluster.getNamespace(namespace)?.metadata?.resourceVersion,
        rolloutRestart: this.rolloutRestartState(item.key),
        backendType,
        plan,
        values: plan.requests.map((request) => synced.values.get(requestKey(request))!),
        result: { result: 'done', refresh: true, plan, refreshIntervalMs },
      });
    }
    return { result: retry ? 'retry' : 'done', refresh: true, plan, refreshIntervalMs };
  }

  /**
   * Whether nothing a reconcile reads changed since a quiet sync: the ExternalSecret, its namespace and the
   * live Secret by resourceVersion, the restart condition, and each remote value (fresh enough) by identity.
   */
  private unchangedSince(quiet: QuietSync, item: WorkItem, externalSecret: ExternalSecret): boolean {
    const { namespace, name, resourceVersion } = externalSecret.metadata;
    if (resourceVersion !== quiet.externalSecretVersion) return false;
    if (this.cluster.getManagedSecret(namespace!, name!)?.metadata?.resourceVersion !== quiet.secretVersion)
      return false;
    if (this.cluster.getNamespace(namespace!)?.metadata?.resourceVersion !== quiet.namespaceVersion)
      return false;
    if (this.rolloutRestartState(item.key) !== quiet.rolloutRestart) return false;
    return this.fetcher.holdsUnchanged(
      quiet.plan.identity,
      quiet.plan.requests,
      quiet.values,
      item.freshAfter,
    );
  }

  /** The RolloutRestart condition a status would show, as one comparable string ('' when there is none). */
  private rolloutRestartState(key: string): string {
    const condition = this.restarter.conditionOf(key);
    return condition ? `${condition.status}\u0000${condition.reason}\u0000${condition.message}` : '';
  }

  /**
   * What the object reads, planned from the cache without a sync, for a prefetch; undefined when its spec or
   * the namespace policy refuses it (its own reconcile reports that, so nothing is lost by not saying it here).
   */
  planOf(externalSecret: ExternalSecret): FetchPlan | undefined {
    try {
      return this.plan(externalSecret, normalizeSpec(externalSecret));
    } catch {
      return undefined;
    }
  }

  private plan(externalSecret: ExternalSecret, normalized: NormalizedSpec): FetchPlan {
    const { namespace } = externalSecret.metadata;
    return planFetch(externalSecret, normalized, {
      backends: this.backends,
      config: this.config,
      namespaceAnnotations: this.cluster.getNamespace(namespace!)?.metadata?.annotations,
    });
  }

  private async sync(
    key: string,
    externalSecret: ExternalSecret,
    spec: NormalizedSpec,
    plan: FetchPlan,
    freshAfter: number,
  ): Promise<Synced> {
    const values = await this.fetcher.fetch(plan.backend, plan.identity, plan.requests, freshAfter);
    const deletionPolicy = spec.deletionPolicy ?? this.config.defaultDeletionPolicy;
    const desired = desiredSecretOf(externalSecret, spec, values, deletionPolicy);

    const { namespace, name, generation } = externalSecret.metadata;
    const live: V1Secret | undefined =
      this.cluster.getManagedSecret(namespace!, name!) ?? (await this.secrets.read(namespace!, name!));
    // A spec change is applied even without a visible difference, so keys it dropped are removed (SSA).
    const specChanged = externalSecret.status?.observedGeneration !== generation;
    if (!secretNeedsWrite(desired, live) && !specChanged)
      return { values, liveVersion: live?.metadata?.resourceVersion };
    const digest = writtenDigest(desired);
    const why = replacementReason(desired, live, specChanged);
    if (why && !isManagedSecretOf(live!, externalSecret)) {
      throw new SyncFailure(
        EventReason.SyncFailed,
        `a Secret ${namespace}/${name} exists that this ExternalSecret does not manage, and it cannot be updated in place: ${why}; delete or rename it`,
        false,
      );
    }
    let result = why ? await this.secrets.replace(desired, live!) : await this.secrets.apply(desired);
    // Retain: an owner reference that another field manager set (KES did) survives the apply.
    const leftOwner = deletionPolicy === 'Retain' ? liveOwnerReference(result, name!) : undefined;
    if (leftOwner) result = await this.secrets.removeOwnerReference(namespace!, name!, leftOwner.uid);
    const sameAsBefore = this.lastWrites.get(key)?.digest === digest;
    this.lastWrites.set(key, { resourceVersion: result.metadata?.resourceVersion, digest });
    // Compared with what the API server stored, so keys other field managers own are not counted as removed;
    // both sides as the informer caches values (long ones as digests), so a cached digest is not a change.
    const changes = describeKeyChanges(
      keyChanges(
        digestSecretData({ data: { ...live?.data } }).data,
        digestSecretData({ data: { ...result.data } }).data,
      ),
    );
    const liveVersion = result.metadata?.resourceVersion;
    if (why) return { values, liveVersion, written: { kind: 'replaced', why, changes } };
    if (!live) return { values, liveVersion, written: { kind: 'created', changes } };
    const kind = sameAsBefore && !specChanged ? 'restored' : 'updated';
    return { values, liveVersion, written: { kind, changes } };
  }

  /**
   * The ExternalSecret is gone. A Secret that deletionPolicy Retain kept for it is let go: its managed label and
   * annotation are removed (so nothing manages it any more), and an Event on the Secret says so. Level-triggered:
   * also for an ExternalSecret deleted while no replica was leading.
   */
  private async releaseRetained(namespace: string, name: string): Promise<ReconcileResult> {
    const secret = this.cluster.getManagedSecret(namespace, name);
    if (!secret || retainedSecretOwner(secret) !== name) return { result: 'done', refresh: false };
    try {
      await this.secrets.release(secret);
    } catch (error) {
      // Gone, or replaced by another Secret of the name (the uid precondition): nothing left to release.
      if ([404, 409].includes(statusCodeOf(error) ?? 0)) return { result: 'done', refresh: false };
      this.logger.warn(
        { namespace, name, err: sanitizeErrorText((error as Error).message) },
        'could not release the retained Secret',
      );
      return { result: 'retry', refresh: false };
    }
    const message = `ExternalSecret ${namespace}/${name} was deleted; deletionPolicy Retain keeps this Secret, no longer managed by the controller`;
    this.logger.info({ namespace, name }, message);
    await this.events.record(
      { apiVersion: 'v1', kind: 'Secret', metadata: secret.metadata! },
      'Normal',
      EventReason.Retained,
      message,
    );
    this.lastWrites.delete(`${namespace}/${name}`);
    return { result: 'done', refresh: false };
  }

  private async report(
    externalSecret: ExternalSecret,
    backend: string,
    outcome: SyncOutcome,
    written: SecretWrite | undefined,
  ): Promise<boolean> {
    const { namespace, name, generation, resourceVersion } = externalSecret.metadata;
    const key = `${namespace}/${name}`;
    const context = { namespace, name, backend };
    // The informer may not have seen our last status write yet (a reconcile right after another, e.g. the echo
    // of our own Secret write arriving first): then the status we wrote is the current one, or this write
    // would put back what the cache still says, undoing the last one.
    const remembered = this.writtenStatuses.get(key);
    const current =
      remembered !== undefined && remembered.basedOn === resourceVersion
        ? remembered.status
        : externalSecret.status;
    const status = nextStatus(current, generation, outcome, written !== undefined, new Date(), {
      writeSummary: written?.changes,
      rolloutRestart: this.restarter.conditionOf(`${namespace}/${name}`),
      syncRequest: externalSecret.metadata.annotations?.[SYNC_REQUEST_ANNOTATION],
    });
    if (written) {
      const keys = written.changes ? ` (${written.changes})` : '';
      const message =
        written.kind === 'replaced'
          ? `Secret ${namespace}/${name} replaced: ${written.why}${keys}`
          : written.kind === 'restored'
            ? `Secret ${namespace}/${name} restored: it had been changed outside the controller${keys}`
            : `Secret ${namespace}/${name} ${written.kind}${written.changes ? `: ${written.changes}` : ''}`;
      this.logger.info(context, message);
      await this.events.record(externalSecret, 'Normal', EVENT_OF_WRITE[written.kind], message);
    }
    if (!outcome.ok) {
      const changed = isNewFailure(current, status);
      // One warning and event per new error, debug while it repeats: no log or event floods.
      this.logger[changed ? 'warn' : 'debug']({ ...context, reason: outcome.reason }, outcome.message);
      if (changed)
        await this.events.record(externalSecret, 'Warning', outcome.reason as EventReason, outcome.message);
    }
    if (status) {
      await this.statuses.write(namespace!, name!, status);
      this.writtenStatuses.set(key, { basedOn: resourceVersion, status });
    }
    return status !== undefined || written !== undefined || !outcome.ok;
  }
}
