import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';
import { jittered } from '../domain/backoff.js';
import { decideLeaseStep, mustStopLeading, type LeaseObservation } from '../domain/lease-decision.js';
import { failFast } from '../lifecycle/process-guards.js';
import { LOGGER } from '../logging/logging.constants.js';
import { ControllerMetrics } from '../metrics/controller-metrics.service.js';
import { apiCall, statusCodeOf } from './api-errors.js';
import { KUBE_CONFIG } from './kubernetes.constants.js';

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
 */
@Injectable()
export class LeaderElector {
  private readonly coordination: CoordinationV1Api;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewal = 0;
  private observed: LeaseObservation | undefined;
  private callbacks: LeadershipCallbacks | undefined;

  constructor(
    @Inject(KUBE_CONFIG) kubeConfig: KubeConfig,
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly metrics: ControllerMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.coordination = kubeConfig.makeApiClient(CoordinationV1Api);
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
      this.cycle().catch((error: unknown) => failFast('leader election failed', error));
    }, delayMs);
  }

  /** Stops campaigning; a leader releases the Lease (after its in-flight work, which the caller drained). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    this.metrics.leader.set(0);
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity === this.identity) {
        lease.spec.holderIdentity = undefined;
        lease.spec.leaseDurationSeconds = 1;
        lease.spec.renewTime = new V1MicroTime();
        await this.replace(lease);
        this.logger.info({ lease: this.leaseName }, 'released leadership');
      }
    } catch (error) {
      this.logger.warn(
        { lease: this.leaseName, err: (error as Error).message },
        'could not release the lease',
      );
    }
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
    try {
      held = await this.tryAcquireOrRenew();
    } catch (error) {
      this.logger.debug({ lease: this.leaseName, err: (error as Error).message }, 'lease update failed');
    }
    if (this.stopped) return;
    if (held) {
      this.lastRenewal = Date.now();
      if (!this.leading) {
        this.leading = true;
        this.metrics.leader.set(1);
        this.logger.info({ lease: this.leaseName, identity: this.identity }, 'became the leader');
        this.callbacks?.onStartedLeading();
      }
    } else if (
      mustStopLeading({
        leading: this.leading,
        renewed: held,
        lastRenewal: this.lastRenewal,
        now: Date.now(),
        renewDeadlineMs,
      })
    ) {
      this.leading = false;
      this.metrics.leader.set(0);
      this.logger.error({ lease: this.leaseName }, 'lost leadership: could not renew the lease in time');
      this.callbacks?.onStoppedLeading();
      return;
    }
    this.scheduleCycle(this.leading ? retryPeriodMs : jittered(retryPeriodMs, 0.2));
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await apiCall(`get leases ${this.namespace}/${this.leaseName}`, () =>
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
    if (decision.step === 'standby') return false;
    const held = {
      holderIdentity: this.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: decision.step === 'renew' ? (spec.acquireTime ?? now) : now,
      renewTime: now,
      leaseTransitions: decision.transitions,
    };
    if (!lease) {
      await apiCall(`create leases in ${this.namespace}`, () =>
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

  private async replace(lease: V1Lease): Promise<void> {
    await apiCall(`update leases ${this.namespace}/${this.leaseName}`, () =>
      this.coordination.replaceNamespacedLease({
        name: this.leaseName,
        namespace: this.namespace,
        body: lease,
      }),
    );
  }
}
