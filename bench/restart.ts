/**
 * A restart with every object synced already (`--restart`): the controller is stopped and a new one started on
 * the same workload. Measured: the time to Ready (the informers' initial lists, whose own time the API server's
 * audit log gives), the first pass over every object (one read of each distinct key, batched; no write is due),
 * and the new process's peak RSS (VmHWM, the kernel's high-water mark) and CPU.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CountingAwsProxy } from '../test/support/aws.js';
import type { ControllerProcess } from '../test/support/controller-process.js';
import { apiAuditMark, auditedApiRequests } from '../test/support/kube.js';
import { auditedRequests, vaultAuditMark } from '../test/support/vault.js';
import { CONTROLLER_USER_AGENT } from '../src/kubernetes/pooled-kube-config.js';
import { controllerMetric, processStats } from './measure.js';

/** The pass is over when the process has used less than this much CPU per second for QUIET_MS. */
const QUIET_CPU_SECONDS_PER_SECOND = 0.05;
const QUIET_MS = 15_000;

export interface RestartFigures {
  readyMs: number;
  /** The controller's initial LISTs (ExternalSecrets, Secrets, Namespaces), the API server's own time. */
  listMs: Record<string, number>;
  /** From the start until the first pass was over (its last busy second). */
  passMs: number;
  syncs: number;
  syncErrors: number;
  backendCalls: Record<string, number>;
  backendCallsTotal: number;
  stsCalls: number;
  vaultLogins: number;
  apiWrites: number;
  apiReads: number;
  apiRequestsByVerb: Record<string, number>;
  peakRssMiB: number;
  rssAfterPassMiB: number;
  cpuSeconds: number;
}

/** VmHWM: the most resident memory the process has had. */
function peakRssBytes(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
}

/** Starts the controller anew (`start`), waits for Ready and for its first pass to end, and measures both. */
export async function measureRestart(
  start: () => Promise<ControllerProcess>,
  proxy: CountingAwsProxy,
  namespace: string,
): Promise<{ controller: ControllerProcess; figures: RestartFigures }> {
  const awsBefore = new Map(proxy.calls);
  const vaultMark = vaultAuditMark();
  const auditMark = apiAuditMark();
  const startedAt = Date.now();
  const controller = await start();
  const pid = controller.child.pid!;
  await controller.waitHealthy('/readyz', 15 * 60_000);
  const readyMs = Date.now() - startedAt;

  let busyUntil = Date.now();
  let lastCpu = processStats(pid).cpuSeconds;
  for (let lastAt = Date.now(); Date.now() - busyUntil < QUIET_MS;) {
    if (Date.now() - startedAt > 30 * 60_000) throw new Error('the restart pass did not end in 30 minutes');
    await sleep(1000);
    const cpu = processStats(pid).cpuSeconds;
    const now = Date.now();
    if ((cpu - lastCpu) / ((now - lastAt) / 1000) >= QUIET_CPU_SECONDS_PER_SECOND) busyUntil = now;
    [lastCpu, lastAt] = [cpu, now];
  }
  const stats = processStats(pid);

  const awsCalls = (operation: string) => (proxy.calls.get(operation) ?? 0) - (awsBefore.get(operation) ?? 0);
  const backendCalls = {
    BatchGetSecretValue: awsCalls('BatchGetSecretValue'),
    GetSecretValue: awsCalls('GetSecretValue'),
    GetParameters: awsCalls('GetParameters'),
    vaultRead: auditedRequests(/^secret\/data\/bench\//, vaultMark),
  };
  const requests = auditedApiRequests(auditMark, CONTROLLER_USER_AGENT);
  const apiRequestsByVerb: Record<string, number> = {};
  const listMs: Record<string, number> = {};
  for (const { verb, resource, subresource, ms, namespace: inNamespace } of requests) {
    const label = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
    apiRequestsByVerb[label] = (apiRequestsByVerb[label] ?? 0) + 1;
    // The informers' lists: of the benchmark's namespace, and the cluster's Namespaces.
    if (verb === 'LIST' && ms !== undefined && (inNamespace === namespace || resource === 'namespaces'))
      listMs[resource] = Math.max(listMs[resource] ?? 0, ms);
  }
  const count = (verbs: string[]) => requests.filter((request) => verbs.includes(request.verb)).length;
  return {
    controller,
    figures: {
      readyMs,
      listMs,
      passMs: busyUntil - startedAt,
      syncs: await controllerMetric(
        controller,
        /^kubernetes_external_secrets_sync_calls_count\{.*status="success"/,
      ),
      syncErrors: await controllerMetric(
        controller,
        /^kubernetes_external_secrets_sync_calls_count\{.*status="error"/,
      ),
      backendCalls,
      backendCallsTotal: Object.values(backendCalls).reduce((sum, calls) => sum + calls, 0),
      stsCalls: awsCalls('AssumeRole'),
      vaultLogins: auditedRequests('auth/kubernetes/login', vaultMark),
      apiWrites: count(['POST', 'PUT', 'PATCH', 'DELETE']),
      apiReads: count(['GET', 'LIST']),
      apiRequestsByVerb,
      peakRssMiB: peakRssBytes(pid) / 2 ** 20,
      rssAfterPassMiB: stats.rssBytes / 2 ** 20,
      cpuSeconds: stats.cpuSeconds,
    },
  };
}
