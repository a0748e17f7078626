import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CoordinationV1Api, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';
import { jittered } from '../domain/backoff.js';
import { decideLeaseStep, type LeaseObservation } from '../domain/lease-decision.js';
import { failFast } from '../lifecycle/process-guards.js';
import { LOGGER } from '../logging/logging.constants.js';
import { ControllerMetrics } from '../metrics/controller-metrics.service.js';
import { apiCall, statusCodeOf } from './api-errors.js';
import { withinDeadline } from './deadline.js';
import { KUBE_CONFIG } from './kubernetes.constants.js';
import type { PooledKubeConfig } from './pooled-kube-config.js';

/** Tries to release the Lease on shutdown; a conflict (another writer between read and write) is retried. */
const RELEASE_ATTEMPTS = 3;

export interface LeadershipCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

/**
 * Leader election with a `coordination.k8s.io/v1` Lease, as client-go does it: the leader renews the Lease
 * every retry period and stops leading when it could not renew within the renew deadline (shorter than the
 * lease duration, so it stops before anyone else can take over); standbys take the Lease once it has not
 * changed for a whole lease duration, measured on their own clock (no clock-skew assumptions). On shutdown the
 * leader releases the Lease so that a rolling update hands over at once.
 *
 * Every Lease request is aborted after half the renew deadline: a request hanging on a dead connection must
 * not stop the loop, or a leader would never notice it can no longer renew (two leaders once the Lease
 * expires) and a standby would never take a free Lease.
 */
@Injectable()
export class LeaderElector {
  private readonly coordination: CoordinationV1Api;
  /** Every Lease request settles within this (half the renew deadline). */
  private readonly requestTimeoutMs: number;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** The cycle running now, if any: shutdown waits for it before releasing, so the two never race. */
  private running: Promise<void> | undefined;
  /** Fires at the renew deadline unless a renewal re-arms it first. */
  private renewDeadline: NodeJS.Timeout | undefined;
  private observed: LeaseObservation | undefined;
  /** The holder this replica last saw in the Lease ('' for none), so that a standby logs each change once. */
  private seenHolder: string | undefined;
  private callbacks: LeadershipCallbacks | undefined;

  constructor(
    @Inject(KUBE_CONFIG) kubeConfig: PooledKubeConfig,
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly metrics: ControllerMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.requestTimeoutMs = Math.max(config.leaderElection.renewDeadlineMs / 2, 500);
    this.coordination = kubeConfig.makeApiClient(CoordinationV1Api, {
      requestTimeoutMs: this.requestTimeoutMs,
    });
  }

  start(callbacks: LeadershipCallbacks): void {
    this.identity = `${this.config.leaderElection.candidateName}_${randomBytes(4).toString('hex')}`;
    this.callbacks = callbacks;
    this.metrics.leader.set(0);
    this.scheduleCycle(0);
  }

  /** cycle() handles its own API failures; anything else it throws is a defect and ends the process. */
  private scheduleCycle(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.cycle()
        .catch((error: unknown) => failFast('leader election failed', error))
        .finally(() => (this.running = undefined));
    }, delayMs);
  }

  /** Stops campaigning; a leader releases the Lease (after its in-flight work, which the caller drained). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.renewDeadline);
    // A renewal in flight would change the Lease's resourceVersion under the release (a 409).
    await this.running;
    // Started, not necessarily leading: a cycle that took the Lease as shutdown began did not start leading.
    if (!this.identity) return;
    this.leading = false;
    this.metrics.leader.set(0);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.release();
        return;
      } catch (error) {
        if (statusCodeOf(error) === 409 && attempt < RELEASE_ATTEMPTS) continue;
        this.logger.warn(
          { lease: this.leaseName, err: (error as Error).message },
          'could not release the lease; a standby takes over when it expires',
        );
        return;
      }
    }
  }

  private async release(): Promise<void> {
    const lease = await this.read();
    if (lease?.spec?.holderIdentity !== this.identity) return;
    lease.spec.holderIdentity = undefined;
    lease.spec.leaseDurationSeconds = 1;
    lease.spec.renewTime = new V1MicroTime();
    await this.replace(lease);
    this.logger.info({ lease: this.leaseName }, 'released leadership');
  }

  /** This replica's name in the Lease: the pod (or host) name and a random suffix, chosen when it starts. */
  private identity = '';
  private get leaseName() {
    return this.config.leaderElection.leaseName;
  }
  private get namespace() {
    return this.config.leaderElection.namespace;
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    const { retryPeriodMs, renewDeadlineMs } = this.config.leaderElection;
    let held = false;
    const attemptStarted = Date.now();
    try {
      held = await this.tryAcquireOrRenew();
    } catch (error) {
      // A leader that cannot renew is news (it stops leading at the renew deadline), and so is a standby that
      // cannot reach the Lease (it could not take over); a standby that lost a race for it (409) is not.
      this.logger[this.leading || statusCodeOf(error) !== 409 ? 'warn' : 'debug'](
        { lease: this.leaseName, err: (error as Error).message },
        'lease update failed',
      );
    }
    if (this.stopped) return;
    if (held) {
      // Counted from when the renewal was sent, not answered: a standby may count from its write.
      this.armRenewDeadline(renewDeadlineMs - (Date.now() - attemptStarted));
      if (!this.leading) {
        this.leading = true;
        this.metrics.leader.set(1);
        this.logger.info({ lease: this.leaseName, identity: this.identity }, 'became the leader');
        this.callbacks?.onStartedLeading();
      }
    }
    this.scheduleCycle(this.leading ? retryPeriodMs : jittered(retryPeriodMs, 0.2));
  }

  /**
   * A leader that has not renewed within the renew deadline stops leading then, whatever its requests are
   * doing: the deadline is shorter than the lease duration, so it stops before a standby may take over.
   */
  private armRenewDeadline(inMs: number): void {
    clearTimeout(this.renewDeadline);
    this.renewDeadline = setTimeout(() => {
      if (!this.leading || this.stopped) return;
      this.stopped = true;
      clearTimeout(this.timer);
      this.leading = false;
      this.metrics.leader.set(0);
      this.logger.error({ lease: this.leaseName }, 'lost leadership: could not renew the lease in time');
      this.callbacks?.onStoppedLeading();
    }, inMs);
  }

  /**
   * A Lease request: aborted at the timeout (which closes its connection), and settled by then even if the
   * abort is lost (see withinDeadline), so the loop always goes on.
   */
  private leaseCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return apiCall(operation, () => withinDeadline(this.requestTimeoutMs, call()));
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.leaseCall(`get leases ${this.namespace}/${this.leaseName}`, () =>
        this.coordination.readNamespacedLease({ name: this.leaseName, namespace: this.namespace }),
      );
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    // Lease times are MicroTime: the API server refuses millisecond precision.
    const now = new V1MicroTime();
    const durationSeconds = Math.ceil(this.config.leaderElection.leaseDurationMs / 1000);
    const lease = await this.read();
    const spec = lease?.spec ?? {};
    const decision = decideLeaseStep({
      lease: lease ? spec : undefined,
      identity: this.identity,
      now: Date.now(),
      observed: this.observed,
      leaseDurationSeconds: durationSeconds,
    });
    this.observed = decision.observation;
    this.noteHolder(spec.holderIdentity ?? '');
    if (decision.step === 'standby') return false;
    const held = {
      holderIdentity: this.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: decision.step === 'renew' ? (spec.acquireTime ?? now) : now,
      renewTime: now,
      leaseTransitions: decision.transitions,
    };
    if (!lease) {
      await this.leaseCall(`create leases in ${this.namespace}`, () =>
        this.coordination.createNamespacedLease({
          namespace: this.namespace,
          body: { metadata: { name: this.leaseName, namespace: this.namespace }, spec: held },
        }),
      );
      return true;
    }
    lease.spec = held;
    // resourceVersion makes this a compare-and-swap: of two replicas racing for an expired lease, one wins.
    await this.replace(lease);
    return true;
  }

  /** As client-go's "new leader elected": a standby says who leads (or that none does) when that changes. */
  private noteHolder(holder: string): void {
    if (holder === this.seenHolder) return;
    this.seenHolder = holder;
    if (holder === this.identity) return;
    this.logger.info(
      { lease: this.leaseName, holder: holder || null },
      holder ? 'leader observed' : 'lease is free',
    );
  }

  private async replace(lease: V1Lease): Promise<void> {
    await this.leaseCall(`update leases ${this.namespace}/${this.leaseName}`, () =>
      this.coordination.replaceNamespacedLease({
        name: this.leaseName,
        namespace: this.namespace,
        body: lease,
      }),
    );
  }
}
