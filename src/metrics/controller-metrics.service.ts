import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { ObjectSyncSeries, SeriesCounter, SeriesGauge } from './object-series.js';

/** The `status` label of the sync metrics. */
export type SyncResultLabel = 'success' | 'error';

/**
 * The controller's metrics, on prom-client's default registry (the one /metrics serves). Label values are
 * names, namespaces, backend types and operation names only: never a value, key, role or message.
 */
@Injectable()
export class ControllerMetrics {
  /** The five series of each ExternalSecret, with the KES names and ours, read from one record per object. */
  private readonly objectSeries = new ObjectSyncSeries();
  private readonly syncCalls = new SeriesCounter({
    name: 'kubernetes_external_secrets_sync_calls_count',
    help: 'Syncs of ExternalSecrets by outcome (KES-compatible)',
    labelNames: ['name', 'namespace', 'backend', 'status'],
    series: () => this.objectSeries.calls(),
  });
  private readonly lastSyncState = new SeriesGauge({
    name: 'kubernetes_external_secrets_last_sync_call_state',
    help: 'Outcome of the last sync of an ExternalSecret: 1 success, -1 error (KES-compatible)',
    labelNames: ['name', 'namespace', 'backend'],
    series: () => this.objectSeries.states(),
  });
  private readonly legacySyncCalls = new SeriesCounter({
    name: 'sync_calls',
    help: 'Syncs of ExternalSecrets by outcome (the KES README name)',
    labelNames: ['name', 'namespace', 'backend', 'status'],
    series: () => this.objectSeries.calls(),
  });
  private readonly legacyLastState = new SeriesGauge({
    name: 'last_state',
    help: 'Outcome of the last sync: 1 success, -1 error (the KES README name)',
    labelNames: ['name', 'namespace', 'backend'],
    series: () => this.objectSeries.states(),
  });
  private readonly lastSuccess = new SeriesGauge({
    name: 'kubernetes_external_secrets_last_success_timestamp_seconds',
    help: 'Unix time of the last successful sync of an ExternalSecret (staleness without status writes)',
    labelNames: ['name', 'namespace', 'backend'],
    series: () => this.objectSeries.lastSuccesses(),
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

  recordSync(
    name: string,
    namespace: string,
    backend: string,
    outcome: SyncResultLabel,
    seconds: number,
  ): void {
    this.objectSeries.record(name, namespace, backend, outcome === 'success', Date.now() / 1000);
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
    this.objectSeries.forget(name, namespace);
  }
}
