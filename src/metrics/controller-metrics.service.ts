import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';

/** The `status` label of the sync metrics. */
export type SyncResultLabel = 'success' | 'error';

/**
 * The controller's metrics, on prom-client's default registry (the one /metrics serves). Label values are
 * names, namespaces, backend types and operation names only: never a value, key, role or message.
 */
@Injectable()
export class ControllerMetrics {
  private readonly syncCalls = new Counter({
    name: 'kubernetes_external_secrets_sync_calls_count',
    help: 'Syncs of ExternalSecrets by outcome (KES-compatible)',
    labelNames: ['name', 'namespace', 'backend', 'status'],
  });
  private readonly lastSyncState = new Gauge({
    name: 'kubernetes_external_secrets_last_sync_call_state',
    help: 'Outcome of the last sync of an ExternalSecret: 1 success, -1 error (KES-compatible)',
    labelNames: ['name', 'namespace', 'backend'],
  });
  private readonly legacySyncCalls = new Counter({
    name: 'sync_calls',
    help: 'Syncs of ExternalSecrets by outcome (the KES README name)',
    labelNames: ['name', 'namespace', 'backend', 'status'],
  });
  private readonly legacyLastState = new Gauge({
    name: 'last_state',
    help: 'Outcome of the last sync: 1 success, -1 error (the KES README name)',
    labelNames: ['name', 'namespace', 'backend'],
  });
  private readonly lastSuccess = new Gauge({
    name: 'kubernetes_external_secrets_last_success_timestamp_seconds',
    help: 'Unix time of the last successful sync of an ExternalSecret (staleness without status writes)',
    labelNames: ['name', 'namespace', 'backend'],
  });
  private readonly backendCalls = new Counter({
    name: 'kubernetes_external_secrets_backend_calls_total',
    help: 'Calls to secret backends and STS, one per real API call',
    labelNames: ['backend', 'operation', 'status'],
  });
  private readonly syncDuration = new Histogram({
    name: 'kubernetes_external_secrets_sync_duration_seconds',
    help: 'Duration of one reconcile of an ExternalSecret',
    labelNames: ['backend'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  readonly leader = new Gauge({
    name: 'kubernetes_external_secrets_leader',
    help: '1 while this replica leads (or runs without leader election), 0 on standby',
  });
  readonly informerRestarts = new Counter({
    name: 'kubernetes_external_secrets_informer_restarts_total',
    help: 'Watches restarted after an error',
    labelNames: ['informer'],
  });
  readonly rolloutRestarts = new Counter({
    name: 'kubernetes_external_secrets_rollout_restarts_total',
    help: 'Restarts of spec.rolloutRestartTargets workloads by kind and outcome (success, not_found, forbidden, error)',
    labelNames: ['kind', 'outcome'],
  });
  readonly queueDepth = new Gauge({
    name: 'kubernetes_external_secrets_queue_depth',
    help: 'ExternalSecrets waiting in the work queue',
  });
  readonly queueWait = new Histogram({
    name: 'kubernetes_external_secrets_queue_wait_seconds',
    help: 'Time an ExternalSecret waited in the work queue',
    labelNames: ['lane'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
  });

  /**
   * The last sync state of each object's series, by backend: it tells which series to remove when the object is
   * deleted, and spares an unchanged refresh the two state gauges (prom-client sorts and hashes the labels of
   * every `set`, and nearly every refresh of a healthy object leaves its state as it was).
   */
  private readonly statesByObject = new Map<string, Map<string, number>>();

  recordSync(
    name: string,
    namespace: string,
    backend: string,
    outcome: SyncResultLabel,
    seconds: number,
  ): void {
    const key = `${namespace}/${name}`;
    let states = this.statesByObject.get(key);
    if (!states) {
      states = new Map();
      this.statesByObject.set(key, states);
    }
    const callLabels = { name, namespace, backend, status: outcome };
    this.syncCalls.inc(callLabels);
    this.legacySyncCalls.inc(callLabels);
    const objectLabels = { name, namespace, backend };
    const state = outcome === 'success' ? 1 : -1;
    if (states.get(backend) !== state) {
      states.set(backend, state);
      this.lastSyncState.set(objectLabels, state);
      this.legacyLastState.set(objectLabels, state);
    }
    if (outcome === 'success') this.lastSuccess.set(objectLabels, Date.now() / 1000);
    this.syncDuration.observe({ backend }, seconds);
  }

  recordBackendCall(backend: string, operation: string, status: 'success' | 'error', count = 1): void {
    this.backendCalls.inc({ backend, operation, status }, count);
  }

  /** The backend calls counted so far, by backend, operation and status (for `kes render`'s report). */
  async backendCallCounts(): Promise<Array<{ labels: Record<string, string>; count: number }>> {
    const { values } = await this.backendCalls.get();
    return values.map(({ labels, value }) => ({
      labels: Object.fromEntries(Object.entries(labels).map(([name, label]) => [name, String(label)])),
      count: value,
    }));
  }

  /** Drops every series of a deleted ExternalSecret (KES kept them forever). */
  forgetExternalSecret(name: string, namespace: string): void {
    const key = `${namespace}/${name}`;
    for (const backend of this.statesByObject.get(key)?.keys() ?? []) {
      for (const gauge of [this.lastSyncState, this.legacyLastState, this.lastSuccess]) {
        gauge.remove({ name, namespace, backend });
      }
      for (const counter of [this.syncCalls, this.legacySyncCalls]) {
        for (const status of ['success', 'error']) counter.remove({ name, namespace, backend, status });
      }
    }
    this.statesByObject.delete(key);
  }
}
