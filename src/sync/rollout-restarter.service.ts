import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { sanitizeErrorText } from '../backends/backend-errors.js';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';
import type { ExternalSecretCondition } from '../domain/external-secret.js';
import type { RolloutRestartTarget } from '../domain/normalize-spec.js';
import { ROLLOUT_RESTART } from '../domain/sync-status.js';
import { statusCodeOf } from '../kubernetes/api-errors.js';
import { ClusterCache } from '../kubernetes/cluster-cache.service.js';
import { EventReason, EventRecorder } from '../kubernetes/event-recorder.service.js';
import { WorkloadStore } from '../kubernetes/workload.store.js';
import { LOGGER } from '../logging/logging.constants.js';
import { ControllerMetrics } from '../metrics/controller-metrics.service.js';

/** A restart waiting out the coalescing window, and the ExternalSecrets (with why) that asked for it. */
interface PendingRestart {
  readonly namespace: string;
  readonly target: RolloutRestartTarget;
  readonly timer: NodeJS.Timeout;
  /** ExternalSecret key (`namespace/name`) → what changed in its Secret. */
  readonly requesters: Map<string, string>;
}

/** How the last restart of one target went, per ExternalSecret that asked for it. */
interface RestartResult {
  readonly ok: boolean;
  readonly text: string;
}

const describeTarget = ({ kind, name }: RolloutRestartTarget) => `${kind} ${name}`;

/**
 * Restarts the workloads of `spec.rolloutRestartTargets` when a Secret's data changed, as `kubectl rollout
 * restart` does. Restarts of one workload are coalesced: the first request waits
 * ROLLOUT_RESTART_COALESCE_MILLISECONDS, and every request for the same workload in that window joins it, so
 * an application whose Secrets rotate together restarts once, after all of them changed. A failure is a
 * Warning Event and the RolloutRestart condition of the ExternalSecrets concerned, never a failed sync.
 */
@Injectable()
export class RolloutRestarter {
  private readonly pending = new Map<string, PendingRestart>();
  private readonly running = new Set<Promise<void>>();
  /** ExternalSecret key → target → how its last restart went, for the RolloutRestart condition. */
  private readonly results = new Map<string, Map<string, RestartResult>>();
  /** Called after a restart with the ExternalSecrets whose condition changed (the sync writes their status). */
  onOutcome: (externalSecretKey: string) => void = () => undefined;

  constructor(
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly workloads: WorkloadStore,
    private readonly cluster: ClusterCache,
    private readonly events: EventRecorder,
    private readonly metrics: ControllerMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Asks for a restart of each target (in the ExternalSecret's namespace) because its Secret's data changed. */
  request(externalSecretKey: string, targets: readonly RolloutRestartTarget[], change: string): void {
    const [namespace] = externalSecretKey.split('/') as [string];
    for (const target of targets) {
      const key = `${namespace}/${target.kind}/${target.name}`;
      const existing = this.pending.get(key);
      if (existing) {
        existing.requesters.set(externalSecretKey, change);
        continue;
      }
      const timer = setTimeout(() => this.fire(key), this.config.rolloutRestartCoalesceMs);
      this.pending.set(key, { namespace, target, timer, requesters: new Map([[externalSecretKey, change]]) });
    }
  }

  /** The RolloutRestart condition of an ExternalSecret, or undefined if none of its restarts ran here. */
  conditionOf(externalSecretKey: string): ExternalSecretCondition | undefined {
    const results = this.results.get(externalSecretKey);
    if (!results) return undefined;
    const failed = [...results.values()].filter((result) => !result.ok);
    if (failed.length > 0) {
      return {
        type: ROLLOUT_RESTART,
        status: 'False',
        reason: EventReason.RolloutRestartFailed,
        message: failed.map((result) => result.text).join('; '),
      };
    }
    return {
      type: ROLLOUT_RESTART,
      status: 'True',
      reason: EventReason.RolloutRestarted,
      message: [...results.values()].map((result) => result.text).join('; '),
    };
  }

  forget(externalSecretKey: string): void {
    this.results.delete(externalSecretKey);
  }

  /** Shutdown: the restarts still waiting run now (the next leader would not know of them), then all settle. */
  async flush(): Promise<void> {
    for (const [key, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.fire(key);
    }
    await Promise.all(this.running);
  }

  private fire(key: string): void {
    const pending = this.pending.get(key);
    if (!pending) return;
    this.pending.delete(key);
    const run = this.restart(pending)
      .catch((error: unknown) => this.logger.error({ err: error }, 'rollout restart failed unexpectedly'))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private async restart({ namespace, target, requesters }: PendingRestart): Promise<void> {
    const at = new Date();
    let failure: string | undefined;
    let outcome = 'success';
    try {
      await this.workloads.restart(namespace, target, at);
    } catch (error) {
      failure = sanitizeErrorText((error as Error).message);
      const code = statusCodeOf(error);
      outcome = code === 404 ? 'not_found' : code === 403 ? 'forbidden' : 'error';
    }
    this.metrics.rolloutRestarts.inc({ kind: target.kind, outcome });

    const why = [...requesters].map(([key, change]) => `${key}: ${change}`).join('; ');
    const text =
      failure === undefined
        ? `restarted ${describeTarget(target)} at ${at.toISOString().replace(/\.\d{3}Z$/, 'Z')} (${why})`
        : `could not restart ${describeTarget(target)}: ${failure}`;
    this.logger[failure === undefined ? 'info' : 'warn'](
      { namespace, kind: target.kind, name: target.name },
      text,
    );
    for (const externalSecretKey of requesters.keys()) {
      const results = this.results.get(externalSecretKey) ?? new Map<string, RestartResult>();
      results.set(describeTarget(target), { ok: failure === undefined, text });
      this.results.set(externalSecretKey, results);
      const [esNamespace, esName] = externalSecretKey.split('/') as [string, string];
      const externalSecret = this.cluster.getExternalSecret(esNamespace, esName);
      if (!externalSecret) continue;
      await this.events.record(
        externalSecret,
        failure === undefined ? 'Normal' : 'Warning',
        failure === undefined ? EventReason.RolloutRestarted : EventReason.RolloutRestartFailed,
        text,
      );
      this.onOutcome(externalSecretKey);
    }
  }
}
